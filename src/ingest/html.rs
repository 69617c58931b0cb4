//! HTML to text, with a map back to the file so that passages name lines of the HTML file.

/// Block tags: a paragraph break in the text.
const BLOCK: [&str; 17] = [
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
];

/// Inline tags: no break at all (`<b>bold</b>.` stays `bold.`); any other tag is a space.
const INLINE: [&str; 18] = [
    "a", "abbr", "b", "bdi", "cite", "code", "em", "i", "kbd", "mark", "q", "s", "samp", "small",
    "span", "strong", "sub", "sup",
];

/// Text of an HTML document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HtmlText {
    /// The `<title>`, if any (entities decoded).
    pub title: Option<String>,
    /// Paragraphs separated by blank lines, words by one space, entities decoded.
    pub text: String,
    /// `(text offset, file offset)` at the start of every run of text copied from the file,
    /// ascending in both.
    pub map: Vec<(usize, usize)>,
}

impl HtmlText {
    /// The file offset of text offset `at`: the mapped word at or before it, plus the distance
    /// into the text (collapsed spaces and entities make that approximate, never past the true
    /// offset and never off the word's line; the caller snaps it to a character boundary).
    pub fn file_offset(&self, at: usize) -> usize {
        let i = self.map.partition_point(|&(t, _)| t <= at);
        match i {
            0 => 0,
            _ => {
                let (t, f) = self.map[i - 1];
                f + (at - t)
            }
        }
    }
}

/// Strip HTML to text: drops script/style/head, turns block tags into paragraph breaks, decodes
/// entities (named and numeric). Returns the `<title>` if any and the text.
pub fn html_to_text(html: &str) -> (Option<String>, String) {
    let t = html_text(html);
    (t.title, t.text)
}

/// [`html_to_text`] with the map back to file offsets.
pub fn html_text(html: &str) -> HtmlText {
    let lower = html.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|s| {
        let start = lower[s..].find('>')? + s + 1;
        let end = lower[start..].find("</title")? + start;
        let t = decode_entities(html[start..end].trim());
        Some(t.split_whitespace().collect::<Vec<_>>().join(" "))
    });
    let mut w = Writer::default();
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
                .unwrap_or("");
            if matches!(tag, "script" | "style" | "head") && !lower[i + 1..].starts_with('/') {
                let close = format!("</{tag}");
                i = lower[end..]
                    .find(&close)
                    .map(|c| end + c)
                    .unwrap_or(b.len());
                continue;
            }
            if BLOCK.contains(&tag) {
                w.para = true;
            } else if !INLINE.contains(&tag) {
                w.space = true;
            }
            i = end;
        } else {
            let next = html[i..].find('<').map(|n| i + n).unwrap_or(b.len());
            w.run(&html[i..next], i);
            i = next;
        }
    }
    HtmlText {
        title: title.filter(|t| !t.is_empty()),
        text: w.out,
        map: w.map,
    }
}

/// Appends text runs with whitespace collapsed: one space between words, a blank line between
/// paragraphs, nothing at the ends.
#[derive(Default)]
struct Writer {
    out: String,
    map: Vec<(usize, usize)>,
    space: bool,
    para: bool,
}

impl Writer {
    /// Append a run of file text starting at `file_at`; a map entry goes at its first word and at
    /// the first word of each of its lines (so a passage's line is exact; within a line the
    /// offset is approximate).
    fn run(&mut self, raw: &str, file_at: usize) {
        let mut map_next = true;
        let mut off = 0;
        while off < raw.len() {
            let rest = &raw[off..];
            let ws = rest.len() - rest.trim_start().len();
            if ws > 0 {
                map_next |= rest[..ws].contains('\n');
                self.space = true;
                off += ws;
                continue;
            }
            let wl = rest.find(char::is_whitespace).unwrap_or(rest.len());
            for c in decode_entities(&rest[..wl]).chars() {
                if c.is_whitespace() {
                    self.space = true;
                    continue;
                }
                if !self.out.is_empty() && self.para {
                    self.out.push_str("\n\n");
                } else if !self.out.is_empty() && self.space {
                    self.out.push(' ');
                }
                (self.para, self.space) = (false, false);
                if map_next {
                    self.map.push((self.out.len(), file_at + off));
                    map_next = false;
                }
                self.out.push(c);
            }
            off += wl;
        }
    }
}

/// Decode `&name;`, `&#NNN;` and `&#xHH;` entities (the HTML named entities people write in
/// documents; an unknown or malformed one is kept as written).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|e| e + 1);
        let decoded = end
            .filter(|&e| e > 1 && e <= 12 && rest[e..].starts_with(';'))
            .and_then(|e| entity(&rest[1..e]).map(|c| (c, e + 1)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let v = match num.strip_prefix(['x', 'X']) {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(v).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "micro" => 'µ',
        "para" => '¶',
        "sect" => '§',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "larr" => '←',
        "rarr" => '→',
        "uarr" => '↑',
        "darr" => '↓',
        "harr" => '↔',
        "le" => '≤',
        "ge" => '≥',
        "ne" => '≠',
        "shy" => '\u{ad}',
        "zwj" => '\u{200d}',
        "zwnj" => '\u{200c}',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "aacute" => 'á',
        "agrave" => 'à',
        "acirc" => 'â',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "ccedil" => 'ç',
        "Eacute" => 'É',
        "aring" => 'å',
        "oslash" => 'ø',
        "aelig" => 'æ',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_whitespace() {
        assert_eq!(
            decode_entities("a&#8212;b &mdash; &#x2014; &amp;lt; &unknown; & x &#0; &#99999999;"),
            "a—b — — &lt; &unknown; & x &#0; &#99999999;"
        );
        let h = "<html><head><title> The\n &amp; Title </title></head><body>\n<h1>Head&shy;ing</h1>\
                 <p>One   two\n three&nbsp;four</p><script>x()</script><p>caf&eacute; <b>bold</b>.</p></body>";
        let t = html_text(h);
        assert_eq!(t.title.as_deref(), Some("The & Title"));
        assert_eq!(t.text, "Head\u{ad}ing\n\nOne two three four\n\ncafé bold.");
        // Every mapped word starts where it is in the file.
        for &(at, file) in &t.map {
            let c = t.text[at..].chars().next().unwrap();
            assert!(h[file..].starts_with(c), "{c:?} at {file}");
        }
        assert_eq!(t.map.len(), 6, "a run and each of its lines: {:?}", t.map);
        assert_eq!(
            t.file_offset(t.text.find("café").unwrap()),
            h.find("caf&").unwrap()
        );
    }
}
