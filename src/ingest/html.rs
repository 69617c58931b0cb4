//! HTML to text.

/// Strip HTML to text: drops script/style/head, turns block tags into paragraph breaks, decodes the
/// common entities. Returns the `<title>` if any.
pub fn html_to_text(html: &str) -> (Option<String>, String) {
    let lower = html.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|s| {
        let start = lower[s..].find('>')? + s + 1;
        let end = lower[start..].find("</title")? + start;
        Some(decode_entities(html[start..end].trim()))
    });
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    let b = html.as_bytes();
    while i < b.len() {
        if b[i] == b'<' {
            let end = match html[i..].find('>') {
                Some(e) => i + e + 1,
                None => break,
            };
            let tag = lower[i + 1..end - 1]
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("")
                .to_string();
            if (tag == "script" || tag == "style" || tag == "head")
                && !lower[i + 1..].starts_with('/')
            {
                let close = format!("</{tag}");
                i = lower[end..]
                    .find(&close)
                    .map(|c| end + c)
                    .unwrap_or(b.len());
                continue;
            }
            if [
                "p",
                "div",
                "br",
                "li",
                "h1",
                "h2",
                "h3",
                "h4",
                "h5",
                "h6",
                "tr",
                "pre",
                "section",
                "article",
                "blockquote",
                "dt",
                "dd",
            ]
            .contains(&tag.as_str())
            {
                out.push_str("\n\n");
            } else {
                out.push(' ');
            }
            i = end;
        } else {
            let next = html[i..].find('<').map(|n| i + n).unwrap_or(b.len());
            out.push_str(&decode_entities(&html[i..next]));
            i = next;
        }
    }
    // collapse spaces inside lines, keep paragraph breaks
    let paras: Vec<String> = out
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    (title.filter(|t| !t.is_empty()), paras.join("\n\n"))
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
