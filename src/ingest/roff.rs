//! Manual pages (roff, `man(7)` macros) to text: enough to index them, not to typeset them.
//! Comments and layout requests are dropped, section headings (`.SH`, `.SS`) and paragraph macros
//! become paragraph breaks, font macros (`.B`, `.I`, `.BR`, …) keep their words, and the common
//! escapes (`\fB`, `\-`, `\(em`, `\e`, …) become plain characters.

/// The text of a man page and its title (`NAME` section's first line, e.g. `ls - list directory
/// contents`), if it has one.
pub fn roff_to_text(src: &str) -> (Option<String>, String) {
    let mut out = String::with_capacity(src.len());
    let mut title: Option<String> = None;
    let mut in_name = false;
    for line in src.lines() {
        let text = if let Some(req) = line.strip_prefix(['.', '\'']) {
            let req = req.trim_start();
            let (name, args) = req.split_once([' ', '\t']).unwrap_or((req, ""));
            match name {
                "\\\"" | "" => continue,
                "SH" | "SS" => {
                    in_name = name == "SH" && unquote(args).eq_ignore_ascii_case("NAME");
                    out.push_str("\n\n");
                    let h = unquote(args);
                    if !h.is_empty() {
                        out.push_str(&unescape(&h));
                        out.push_str("\n\n");
                    }
                    continue;
                }
                "PP" | "LP" | "P" | "TP" | "IP" | "HP" | "sp" | "br" | "RS" | "RE" | "nf"
                | "fi" | "EX" | "EE" => {
                    out.push_str("\n\n");
                    if name == "IP" {
                        first_arg(args)
                    } else {
                        continue;
                    }
                }
                "B" | "I" | "SM" | "SB" => unquote(args),
                "BR" | "BI" | "IB" | "IR" | "RB" | "RI" => args
                    .split_whitespace()
                    .map(|w| w.trim_matches('"'))
                    .collect::<Vec<_>>()
                    .join(""),
                // mdoc (BSD pages): headings, paragraphs and the words of semantic macros.
                "Sh" | "Ss" => {
                    in_name = name == "Sh" && unquote(args).eq_ignore_ascii_case("NAME");
                    out.push_str("\n\n");
                    out.push_str(&unescape(&unquote(args)));
                    out.push_str("\n\n");
                    continue;
                }
                "Pp" | "Bl" | "El" | "Bd" | "Ed" => {
                    out.push_str("\n\n");
                    continue;
                }
                "Nd" => {
                    if in_name {
                        if let Some(t) = title.as_mut() {
                            t.push_str(" - ");
                            t.push_str(&unescape(args.trim()));
                        }
                    }
                    format!("- {}", args.trim())
                }
                "Fl" => mdoc(&format!("Fl {args}")),
                "Nm" | "It" | "Ar" | "Cm" | "Ic" | "Li" | "Pa" | "Va" | "Ev" | "Em" | "Sy"
                | "Dv" | "Er" | "Fn" | "Fa" | "Xr" | "Op" | "Ql" | "Dq" | "Sq" | "Tn" => mdoc(args),
                _ => continue, // .TH, .ad, .nh, .de, .ds, .so, .Dd, .Dt, .Os, … (layout, not text)
            }
        } else {
            line.to_string()
        };
        let text = unescape(&text);
        if in_name && title.is_none() && !text.trim().is_empty() {
            title = Some(text.trim().to_string());
        }
        out.push_str(&text);
        out.push('\n');
    }
    (title, out)
}

/// The first argument of a request (`.IP \(bu 2` → `\(bu`).
fn first_arg(s: &str) -> String {
    let s = s.trim();
    match s.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or("").to_string(),
        None => s.split_whitespace().next().unwrap_or("").to_string(),
    }
}

/// The words of an mdoc line: `Fl` marks a flag (`-`), other macro names are dropped.
fn mdoc(args: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut flag = false;
    for w in args.split_whitespace() {
        match w {
            "Fl" => flag = true,
            w if w.len() == 2
                && w.starts_with(char::is_uppercase)
                && w.chars().nth(1).is_some_and(char::is_lowercase) => {}
            w => {
                out.push(if flag { format!("-{w}") } else { w.to_string() });
                flag = false;
            }
        }
    }
    out.join(" ")
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

/// Roff escapes to characters; unknown ones are dropped.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('f') => {
                // \fB, \fI, \fR, \fP, \f(BI, \f[CR]
                skip_name(&mut it);
            }
            Some('(') => {
                let name: String = [it.next(), it.next()].into_iter().flatten().collect();
                out.push_str(special(&name));
            }
            Some('[') => {
                let mut name = String::new();
                for c in it.by_ref() {
                    if c == ']' {
                        break;
                    }
                    name.push(c);
                }
                out.push_str(special(&name));
            }
            Some('-') => out.push('-'),
            Some('e') | Some('\\') => out.push('\\'),
            Some('&') | Some('c') | Some('%') | Some('/') | Some(',') | Some('^') | Some('|') => {}
            Some(' ') | Some('~') | Some('0') => out.push(' '),
            Some('"') => break, // comment to the end of the line
            Some('s') => {
                // \s+1, \s-1, \s0: size changes
                if matches!(it.peek(), Some('+') | Some('-')) {
                    it.next();
                }
                it.next();
            }
            Some('*') | Some('n') => {
                // string / number register: \*x, \*(xx, \*[name]
                skip_name(&mut it);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Skip an escape's name: one character, `(xx`, or `[name]`.
fn skip_name(it: &mut impl Iterator<Item = char>) {
    match it.next() {
        Some('(') => {
            it.next();
            it.next();
        }
        Some('[') => while it.next().is_some_and(|c| c != ']') {},
        _ => {}
    }
}

fn special(name: &str) -> &'static str {
    match name {
        "em" => "—",
        "en" => "–",
        "hy" | "mi" => "-",
        "bu" => "•",
        "lq" | "rq" => "\"",
        "oq" | "cq" | "aq" => "'",
        "co" => "©",
        "rg" => "®",
        "tm" => "™",
        "de" => "°",
        "mu" => "×",
        "<=" => "≤",
        ">=" => "≥",
        "->" => "→",
        "<-" => "←",
        "ti" => "~",
        "ha" => "^",
        "dq" => "\"",
        _ => "",
    }
}

/// Whether a file name is a manual page: `NAME.SECTION` (1-9, optionally with a suffix such as
/// `3pm` or `1ssl`), compressed or not (the caller strips `.gz`).
pub fn is_man_page(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && !stem.ends_with(|c: char| c.is_ascii_digit())
        && ext.len() <= 4
        && ext.starts_with(|c: char| ('1'..='9').contains(&c))
        && ext[1..].chars().all(|c| c.is_ascii_alphanumeric())
}

/// Whether text looks like roff: a `.TH` (man) or `.Dd` (mdoc) request or a roff comment among its
/// first lines.
pub fn looks_like_roff(text: &str) -> bool {
    text.lines()
        .take(64)
        .any(|l| l.starts_with(".TH ") || l.starts_with(".Dd") || l.starts_with(".\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_man_page_becomes_text_with_its_name_as_title() {
        let page =
            ".\\\" comment\n.TH LS 1 \"2024\" \"GNU\"\n.SH NAME\nls \\- list directory contents\n\
                    .SH SYNOPSIS\n.B ls\n[\\fIOPTION\\fR]... [\\fIFILE\\fR]...\n.SH DESCRIPTION\n\
                    .PP\nList information about the FILEs \\(em the current directory by default.\n\
                    .TP\n\\fB\\-a\\fR, \\fB\\-\\-all\\fR\ndo not ignore entries starting with .\n\
                    .BR dircolors (1)\n";
        let (title, text) = roff_to_text(page);
        assert_eq!(title.as_deref(), Some("ls - list directory contents"));
        assert!(text.contains("List information about the FILEs — the current directory"));
        assert!(text.contains("-a, --all\ndo not ignore"), "{text}");
        assert!(text.contains("[OPTION]... [FILE]...") && text.contains("dircolors(1)"));
        assert!(!text.contains("comment") && !text.contains("GNU") && !text.contains("\\f"));
        assert!(is_man_page("ls.1") && is_man_page("Digest::SHA.3pm") && is_man_page("x.1ssl"));
        let (_, ip) = roff_to_text(".IP \\(bu 2\nfirst point\n");
        assert_eq!(ip.trim(), "•\nfirst point");
        let mdoc = ".Dd May 1, 2024\n.Dt CAT 1\n.Sh NAME\n.Nm cat\n.Nd concatenate files\n\
                    .Sh SYNOPSIS\n.Nm\n.Op Fl benstuv\n.Ar\n.Sh DESCRIPTION\nThe\n.Nm\nutility reads files.\n";
        let (title, text) = roff_to_text(mdoc);
        assert_eq!(title.as_deref(), Some("cat - concatenate files"));
        assert!(
            text.contains("-benstuv") && text.contains("utility reads files"),
            "{text}"
        );
        assert!(!text.contains("May 1") && !text.contains("CAT 1"), "{text}");
        assert!(!is_man_page("notes.txt") && !is_man_page("v1.2") && !is_man_page(".1"));
        assert!(looks_like_roff(page) && !looks_like_roff("# Title\n\nSee .TH in roff"));
    }
}
