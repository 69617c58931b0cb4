"""What the bench scripts that talk to `leann-edge serve` share: start it on a loopback port and
ask it questions. Imported by serve_load.py, score_floor.py, identifiers.py and filters.py (Python
puts the script's folder on the path)."""
import http.client, json, subprocess, threading, time


def start(bin, index, model=None, extra=()):
    """Start `bin serve index --listen 127.0.0.1:0 --read-only EXTRA…`; returns (process, "host:port",
    seconds until it listened). The request log is drained so the server never blocks on a full pipe."""
    cmd = [bin] + (["--model", model] if model else [])
    cmd += ["serve", index, "--listen", "127.0.0.1:0", "--read-only", *extra]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in p.stderr:
        if "on http://" in line:
            ready = time.perf_counter() - t
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, line.split("on http://")[1].split("/")[0], ready
    raise SystemExit("serve did not start")


class Client:
    """One keep-alive connection to the service."""

    def __init__(self, addr, timeout=120):
        host, port = addr.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def search(self, body):
        """POST /v1/search with this JSON body; returns (status, parsed answer)."""
        self.conn.request("POST", "/v1/search", body=json.dumps(body),
                          headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        return r.status, json.loads(r.read())


def qrels(path):
    """query id → set of relevant corpus ids (score > 0; a header line is skipped)."""
    rel = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 3 and f[-1] != "0" and f[0] != "query-id":
            rel.setdefault(f[0], set()).add(f[1])
    return rel
