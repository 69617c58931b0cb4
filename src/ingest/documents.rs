//! Text out of binary document formats: PDF (`pdf-extract`, page by page) and DOCX (the `zip`
//! crate and `quick-xml` over `word/document.xml`). Each yields its text as units — pages of a
//! PDF, paragraphs of a DOCX — so that a passage's `path:N` names the page or paragraph it starts
//! in. A file that cannot be read is a counted skip with the reason, never a panic.
#[cfg(feature = "documents")]
use std::io::Read;

/// A document format read by this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DocKind {
    /// PDF: units are pages.
    Pdf,
    /// Word (Office Open XML): units are paragraphs.
    Docx,
}

impl DocKind {
    /// The format of a file called `name` (lower-cased extension) starting with `bytes`.
    pub fn of(name: &str, bytes: &[u8]) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".pdf") && bytes.starts_with(b"%PDF-") {
            Some(DocKind::Pdf)
        } else if lower.ends_with(".docx") && bytes.starts_with(b"PK\x03\x04") {
            Some(DocKind::Docx)
        } else {
            None
        }
    }
}

/// A document's text: its units joined by blank lines, where each unit starts, and a title when
/// the document states one.
#[derive(Debug, Default)]
pub(super) struct Extracted {
    pub text: String,
    /// Byte offset in `text` where unit `i` (page or paragraph `i + 1`) starts.
    pub starts: Vec<usize>,
    pub title: Option<String>,
}

impl Extracted {
    #[cfg_attr(not(feature = "documents"), allow(dead_code))]
    fn push_unit(&mut self, unit: &str) {
        let unit = unit.trim();
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        self.starts.push(self.text.len());
        self.text.push_str(unit);
    }

    /// The 1-based unit holding byte `at` of the text.
    pub fn unit_at(&self, at: usize) -> u64 {
        self.starts.partition_point(|&s| s <= at).max(1) as u64
    }
}

/// The text of a `kind` document, at most `cap` bytes of it; `Err` is the reason to skip it.
#[cfg(not(feature = "documents"))]
pub(super) fn extract(_: DocKind, _: &[u8], _: u64) -> Result<Extracted, &'static str> {
    Err("PDF or DOCX: this build lacks the `documents` feature")
}

/// The text of a `kind` document, at most `cap` bytes of it; `Err` is the reason to skip it.
#[cfg(feature = "documents")]
pub(super) fn extract(kind: DocKind, bytes: &[u8], cap: u64) -> Result<Extracted, &'static str> {
    let out = match kind {
        DocKind::Pdf => pdf(bytes)?,
        DocKind::Docx => docx(bytes, cap)?,
    };
    if out.text.len() as u64 > cap {
        return Err("text larger than --max-file-mib (raise it to index the file)");
    }
    if out.text.trim().is_empty() {
        return Err(match kind {
            DocKind::Pdf => "PDF without text (scanned pages need OCR first)",
            DocKind::Docx => "empty",
        });
    }
    Ok(out)
}

#[cfg(feature = "documents")]
/// Serialises PDF extraction: the panic hook is swapped while it runs (see [`pdf`]).
static PDF_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(feature = "documents")]
/// Pages of a PDF. `pdf-extract` panics on some malformed files: the panic is caught (and its
/// message kept off the terminal) and the file skipped.
fn pdf(bytes: &[u8]) -> Result<Extracted, &'static str> {
    let _one = PDF_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes));
    std::panic::set_hook(hook);
    let pages = match pages {
        Ok(Ok(p)) => p,
        Ok(Err(pdf_extract::OutputError::PdfError(lopdf::Error::Decryption(_)))) => {
            return Err("encrypted PDF")
        }
        Ok(Err(_)) | Err(_) => return Err("unreadable PDF"),
    };
    let mut out = Extracted::default();
    for p in &pages {
        out.push_unit(p);
    }
    // A PDF's visible title is its first line, when that reads like one.
    out.title = out
        .text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .filter(|l| (3..=100).contains(&l.chars().count()) && l.chars().any(char::is_alphabetic))
        .map(str::to_string);
    Ok(out)
}

#[cfg(feature = "documents")]
/// Paragraphs of a DOCX (`word/document.xml`), titled by the core properties' `dc:title`, else its
/// first Title or Heading paragraph.
fn docx(bytes: &[u8], cap: u64) -> Result<Extracted, &'static str> {
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

#[cfg(feature = "documents")]
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
    let mut s = String::new();
    let mut r = f.take(cap + 1);
    r.read_to_string(&mut s)
        .map_err(|_| "unreadable DOCX (corrupt or not UTF-8)")?;
    if s.len() as u64 > cap {
        return Err("decompressed larger than --max-file-mib (raise it to index the file)");
    }
    Ok(Some(s))
}

#[cfg(feature = "documents")]
const BAD_XML: &str = "unreadable DOCX (XML)";

#[cfg(feature = "documents")]
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

#[cfg(feature = "documents")]
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
#[cfg(feature = "documents")]
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

/// Small real documents for tests: a PDF written object by object (with a correct cross-reference
/// table) and a DOCX zipped from its XML parts.
#[cfg(all(test, feature = "documents"))]
pub(crate) mod samples {
    use std::io::Write;

    /// A PDF with one page per entry of `pages`, each line a text line (Helvetica).
    pub fn pdf(pages: &[&[&str]]) -> Vec<u8> {
        let n = pages.len();
        // Objects: 1 catalog, 2 page tree, 3 font, then page and content per page.
        let mut objs: Vec<String> = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {n} >>",
                (0..n)
                    .map(|i| format!("{} 0 R", 4 + 2 * i))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .into(),
        ];
        for (i, lines) in pages.iter().enumerate() {
            objs.push(format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R \
                 /Resources << /Font << /F1 3 0 R >> >> >>",
                5 + 2 * i
            ));
            let mut content = String::from("BT /F1 12 Tf 14 TL 72 720 Td\n");
            for l in lines.iter() {
                content += &format!("({}) Tj T*\n", l.replace('(', "\\(").replace(')', "\\)"));
            }
            content += "ET";
            objs.push(format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ));
        }
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            offsets.push(out.len());
            write!(out, "{} 0 obj\n{o}\nendobj\n", i + 1).unwrap();
        }
        let xref = out.len();
        write!(out, "xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).unwrap();
        for o in offsets {
            writeln!(out, "{o:010} 00000 n ").unwrap();
        }
        write!(
            out,
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .unwrap();
        out
    }

    /// A DOCX: `title` in the core properties (if any), then paragraphs `(style, text)`; text is
    /// XML (entities, `<w:tab/>` allowed).
    pub fn docx(title: Option<&str>, paras: &[(&str, &str)]) -> Vec<u8> {
        let body: String = paras
            .iter()
            .map(|(style, t)| {
                let style = if style.is_empty() {
                    String::new()
                } else {
                    format!("<w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr>")
                };
                format!("<w:p>{style}<w:r><w:t xml:space=\"preserve\">{t}</w:t></w:r></w:p>")
            })
            .collect();
        let doc = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
             <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
             <w:body>{body}</w:body></w:document>"
        );
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("word/document.xml", opts).unwrap();
        zip.write_all(doc.as_bytes()).unwrap();
        if let Some(t) = title {
            zip.start_file("docProps/core.xml", opts).unwrap();
            write!(
                zip,
                "<?xml version=\"1.0\"?><cp:coreProperties \
                 xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
                 xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>{t}</dc:title>\
                 </cp:coreProperties>"
            )
            .unwrap();
        }
        zip.finish().unwrap().into_inner()
    }
}

#[cfg(all(test, feature = "documents"))]
mod tests {
    use super::*;

    #[test]
    fn pdf_pages_become_units_with_a_title() {
        let bytes = samples::pdf(&[
            &["Boiler Manual", "Set the pressure to 1.5 bar."],
            &["Bleed the radiators (top valve) once a year."],
        ]);
        let d = extract(DocKind::of("m.pdf", &bytes).unwrap(), &bytes, 1 << 20).unwrap();
        assert_eq!(d.starts.len(), 2, "{d:?}");
        assert_eq!(d.title.as_deref(), Some("Boiler Manual"));
        let p2 = d
            .text
            .find("Bleed the radiators (top valve)")
            .expect("page 2 text");
        assert!(d.text.contains("Set the pressure to 1.5 bar."), "{d:?}");
        assert_eq!(d.unit_at(p2), 2);
        assert_eq!(d.unit_at(0), 1);
    }

    #[test]
    fn docx_paragraphs_entities_tabs_and_titles() {
        let bytes = samples::docx(
            Some("Kiosk &amp; Café Guide"),
            &[
                ("Heading1", "Opening hours"),
                ("", "Open 8&#8211;18 on weekdays.<w:tab/>Closed on Sundays."),
                ("", "Coffee &amp; cake at the counter."),
            ],
        );
        let d = extract(DocKind::of("g.DOCX", &bytes).unwrap(), &bytes, 1 << 20).unwrap();
        assert_eq!(d.title.as_deref(), Some("Kiosk & Café Guide"));
        assert_eq!(d.starts.len(), 3);
        assert!(d.text.contains("Open 8–18 on weekdays.\tClosed"), "{d:?}");
        assert_eq!(d.unit_at(d.text.find("Coffee & cake").unwrap()), 3);
        // Without core properties the first heading titles it.
        let bytes = samples::docx(None, &[("", "intro"), ("Title", "Field Notes")]);
        let d = extract(DocKind::Docx, &bytes, 1 << 20).unwrap();
        assert_eq!(d.title.as_deref(), Some("Field Notes"));
    }

    #[test]
    fn broken_documents_are_skipped_with_a_reason() {
        let mut pdf = samples::pdf(&[&["Some text here."]]);
        let cut = pdf.len() / 2;
        pdf.truncate(cut);
        pdf.extend_from_slice(&[0xff; 64]);
        assert!(extract(DocKind::Pdf, &pdf, 1 << 20).is_err());
        assert!(extract(DocKind::Pdf, b"%PDF-1.4\n garbage", 1 << 20).is_err());
        assert_eq!(
            extract(DocKind::Docx, b"PK\x03\x04 not a zip", 1 << 20).unwrap_err(),
            "unreadable DOCX (zip)"
        );
        let big = samples::docx(None, &[("", &"word ".repeat(10_000))]);
        let err = extract(DocKind::Docx, &big, 1000).unwrap_err();
        assert!(err.contains("--max-file-mib"), "{err}");
        // Not the magic bytes: not a document of that kind.
        assert_eq!(DocKind::of("x.pdf", b"hello"), None);
        // A page with no text (a scan).
        let empty = samples::pdf(&[&[]]);
        assert!(extract(DocKind::Pdf, &empty, 1 << 20)
            .unwrap_err()
            .contains("OCR"));
    }

    #[test]
    fn a_folder_of_documents_is_indexed_by_page_and_paragraph() {
        let dir = tempfile::tempdir().unwrap();
        let put = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        put(
            "manual.pdf",
            &samples::pdf(&[
                &["Boiler Manual", "Set the pressure to 1.5 bar."],
                &["Bleed the radiators once a year."],
            ]),
        );
        put(
            "guide.docx",
            &samples::docx(
                Some("Guide"),
                &[
                    ("", &"First paragraph words. ".repeat(8)),
                    ("", &"Second paragraph words. ".repeat(8)),
                ],
            ),
        );
        put("broken.pdf", b"%PDF-1.7\nnot really");
        put("notes.txt", b"Plain notes.");
        let opts = crate::ingest::IngestOptions {
            max_tokens: 8,
            overlap_tokens: 0,
            ..Default::default()
        };
        let (recs, sum) = crate::ingest::collect(&[dir.path().to_path_buf()], &opts);
        let find = |needle: &str| {
            recs.iter()
                .find(|r| r.text.contains(needle))
                .unwrap_or_else(|| panic!("{needle}: {recs:?}"))
        };
        let bleed = find("Bleed the radiators");
        assert!(bleed.source.as_ref().unwrap().path.ends_with("manual.pdf"));
        assert_eq!(bleed.source.as_ref().unwrap().line, 2, "page 2");
        assert_eq!(bleed.title, "Boiler Manual");
        // A passage holding only paragraph 2 names paragraph 2.
        let second = recs
            .iter()
            .find(|r| r.text.contains("Second") && !r.text.contains("First"))
            .unwrap();
        assert_eq!(
            (second.title.as_str(), second.source.as_ref().unwrap().line),
            ("Guide", 2)
        );
        assert!(find("Plain notes").title == "notes");
        assert_eq!(sum.skipped.get("unreadable PDF"), Some(&1), "{sum:?}");
        assert_eq!(sum.files, 3);
    }
}
