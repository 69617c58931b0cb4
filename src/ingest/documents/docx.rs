//! DOCX (Office Open XML) text: `word/document.xml` read with the `zip` crate (members decompressed
//! to at most the size cap: a zip bomb stops there) and `quick-xml`; one unit per non-empty
//! paragraph (table cells are paragraphs too).
use super::Extracted;
use std::io::Read;

/// Paragraphs of a DOCX, titled by the core properties' `dc:title`, else its first Title or
/// Heading paragraph. A panic in the zip or XML reader is caught and the file skipped.
pub(super) fn docx(bytes: &[u8], cap: u64) -> Result<Extracted, &'static str> {
    std::panic::catch_unwind(|| read(bytes, cap)).unwrap_or(Err("unreadable DOCX"))
}

fn read(bytes: &[u8], cap: u64) -> Result<Extracted, &'static str> {
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| "unreadable DOCX (zip)")?;
    let body = member(&mut zip, "word/document.xml", cap)?.ok_or("DOCX without a document")?;
    let mut out = paragraphs(&body)?;
    if let Ok(Some(core)) = member(&mut zip, "docProps/core.xml", 1 << 20) {
        if let Some(t) = core_title(&core) {
            out.title = Some(t);
        }
    }
    Ok(out)
}

/// One zip member as text, decompressing at most `cap` bytes (a zip bomb stops there).
fn member(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    cap: u64,
) -> Result<Option<String>, &'static str> {
    let f = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(_) => return Err("unreadable DOCX (zip)"),
    };
    let mut bytes = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| "unreadable DOCX (corrupt member)")?;
    if bytes.len() as u64 > cap {
        return Err("decompressed larger than --max-file-mib (raise it to index the file)");
    }
    let s = String::from_utf8(bytes).map_err(|_| "unreadable DOCX (not UTF-8)")?;
    Ok(Some(s))
}

const BAD_XML: &str = "unreadable DOCX (XML)";

/// The text of each `w:p` (runs `w:t`, tabs, breaks) and the first Title/Heading paragraph.
fn paragraphs(xml: &str) -> Result<Extracted, &'static str> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let (mut out, mut para, mut in_text, mut heading) =
        (Extracted::default(), String::new(), false, false);
    loop {
        match r.read_event().map_err(|_| BAD_XML)? {
            Event::Start(e) if e.local_name().as_ref() == b"t" => in_text = true,
            Event::End(e) if e.local_name().as_ref() == b"t" => in_text = false,
            ev @ (Event::Text(_) | Event::GeneralRef(_)) if in_text => push_text(&ev, &mut para),
            Event::Empty(e) => match e.local_name().as_ref() {
                b"tab" => para.push('\t'),
                b"br" | b"cr" => para.push('\n'),
                b"pStyle" => {
                    heading |= e.attributes().flatten().any(|a| {
                        a.key.local_name().as_ref() == b"val" && {
                            let v = a.value.to_ascii_lowercase();
                            v.starts_with(b"heading") || v.starts_with(b"title")
                        }
                    })
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"p" => {
                if !para.trim().is_empty() {
                    if heading && out.title.is_none() {
                        out.title = Some(para.trim().to_string());
                    }
                    out.push_unit(&para);
                }
                para.clear();
                heading = false;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// `dc:title` of `docProps/core.xml`, when set.
fn core_title(xml: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let (mut inside, mut title) = (false, String::new());
    loop {
        match r.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == b"title" => inside = true,
            ev @ (Event::Text(_) | Event::GeneralRef(_)) if inside => push_text(&ev, &mut title),
            Event::End(_) if inside => {
                let t = title.trim();
                return (!t.is_empty()).then(|| t.to_string());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Append a text event's text to `out`; entities come apart from the text (`&amp;`,
/// `&#8212;`): predefined and character references are resolved, others dropped.
fn push_text(ev: &quick_xml::events::Event<'_>, out: &mut String) {
    use quick_xml::events::Event;
    match ev {
        Event::Text(t) => out.push_str(&t.decode().unwrap_or_default()),
        Event::GeneralRef(e) => {
            if let Ok(Some(c)) = e.resolve_char_ref() {
                out.push(c);
            } else if let Ok(name) = e.decode() {
                out.push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap_or(""));
            }
        }
        _ => {}
    }
}
