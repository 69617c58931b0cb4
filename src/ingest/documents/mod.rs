//! Text out of binary document formats: PDF ([`pdf`]: `pdf-extract`, page by page, in a
//! child process where one can run — [`isolate`]) and DOCX ([`docx`]: the `zip` crate and
//! `quick-xml` over `word/document.xml`). Each yields its text as units — pages of a PDF,
//! paragraphs of a DOCX — so that a passage's `path:N` names the page or paragraph it starts in.
//! A file that cannot be read is a counted skip with the reason, never a crash.
#[cfg(feature = "documents")]
mod docx;
#[cfg(feature = "documents")]
mod isolate;
#[cfg(feature = "documents")]
mod pdf;

#[cfg(feature = "documents")]
pub use isolate::{helper_main as pdf_helper_main, isolate_pdf_in, PDF_HELPER_ARG};
/// Pages of a PDF read at most (the rest are left out and counted).
pub const MAX_PDF_PAGES: usize = 2_000;

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

/// A document's text: its units joined by blank lines, where each unit starts, a title when the
/// document states one, and what could not be read.
#[derive(Debug, Default)]
pub(super) struct Extracted {
    pub text: String,
    /// Byte offset in `text` where unit `i` (page or paragraph `i + 1`) starts.
    pub starts: Vec<usize>,
    pub title: Option<String>,
    /// Pages that could not be read (left empty, so later page numbers stay right).
    pub failed_units: usize,
    /// Pages beyond the most read from one PDF, left out.
    pub units_left_out: bool,
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
pub(super) fn extract(_: DocKind, _: &[u8], _: u64, _: u64) -> Result<Extracted, &'static str> {
    Err("PDF or DOCX: this build lacks the `documents` feature")
}

/// The text of a `kind` document, at most `cap` bytes of it; `Err` is the reason to skip it.
#[cfg(feature = "documents")]
/// The text of a document; `memory`: what the PDF reader (a child process) may allocate.
pub(super) fn extract(
    kind: DocKind,
    bytes: &[u8],
    cap: u64,
    memory: u64,
) -> Result<Extracted, &'static str> {
    let out = match kind {
        DocKind::Pdf => from_pages(isolate::pages(bytes, cap, memory)?),
        DocKind::Docx => docx::docx(bytes, cap)?,
    };
    if out.text.len() as u64 > cap {
        return Err("text larger than --max-file-mib (raise it to index the file)");
    }
    if out.text.trim().is_empty() {
        return Err(match kind {
            DocKind::Pdf if out.failed_units > 0 => pdf::UNREADABLE,
            DocKind::Pdf => "PDF without text (scanned pages need OCR first)",
            DocKind::Docx => "empty",
        });
    }
    Ok(out)
}

/// A PDF's pages as units (an unreadable page stays an empty unit), titled by the first line when
/// that reads like a title.
#[cfg(feature = "documents")]
fn from_pages(p: pdf::Pages) -> Extracted {
    let mut out = Extracted {
        units_left_out: p.more,
        ..Extracted::default()
    };
    for page in &p.pages {
        out.failed_units += usize::from(page.is_none());
        out.push_unit(page.as_deref().unwrap_or(""));
    }
    out.title = out
        .text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .filter(|l| (3..=100).contains(&l.chars().count()) && l.chars().any(char::is_alphabetic))
        .map(str::to_string);
    out
}

/// Small real documents for tests (here and in `tests/`): PDFs written object by object with a
/// correct cross-reference table — plain ones and hostile ones — and DOCX files zipped from their
/// XML parts.
#[cfg(feature = "documents")]
#[doc(hidden)]
pub mod samples {
    use std::io::Write;

    /// A PDF of these objects (numbered from 1; object 1 must be the catalog).
    pub fn pdf_of(objs: &[String]) -> Vec<u8> {
        let objs: Vec<Vec<u8>> = objs.iter().map(|o| o.as_bytes().to_vec()).collect();
        pdf_of_bytes(&objs)
    }

    /// [`pdf_of`] for objects that may hold binary streams.
    pub fn pdf_of_bytes(objs: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            offsets.push(out.len());
            writeln!(out, "{} 0 obj", i + 1).unwrap();
            out.extend_from_slice(o);
            out.extend_from_slice(b"\nendobj\n");
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

    fn stream(content: &str) -> String {
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        )
    }

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
            FONT.into(),
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
            objs.push(stream(&content));
        }
        pdf_of(&objs)
    }

    const FONT: &str =
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

    /// A page whose `/Parent` is itself (and no `/Resources` to stop the inherited lookup).
    pub fn pdf_parent_loop() -> Vec<u8> {
        pdf_of(&[
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
            "<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".into(),
            stream("BT /F1 12 Tf 72 720 Td (loop) Tj ET"),
        ])
    }

    /// Two pages: the first's content stream (Flate) inflates to `first` (raw operators), the
    /// second says "second page".
    pub fn pdf_flate_first_page(first: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(first).unwrap();
        let packed = z.finish().unwrap();
        let mut big = format!(
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            packed.len()
        )
        .into_bytes();
        big.extend_from_slice(&packed);
        big.extend_from_slice(b"\nendstream");
        let page = |content: usize| {
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R \
                 /Resources << /Font << /F1 3 0 R >> >> >>"
            )
            .into_bytes()
        };
        pdf_of_bytes(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [4 0 R 6 0 R] /Count 2 >>".to_vec(),
            FONT.as_bytes().to_vec(),
            page(5),
            big,
            page(7),
            stream("BT /F1 12 Tf 72 720 Td (second page) Tj ET").into_bytes(),
        ])
    }

    /// A page drawing a form XObject that draws itself: endless recursion in the reader (a stack
    /// overflow, which no `catch_unwind` stops).
    pub fn pdf_recursive_form() -> Vec<u8> {
        let form = "/X1 Do";
        pdf_of(&[
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
             /Resources << /Font << /F1 6 0 R >> /XObject << /X1 5 0 R >> >> >>"
                .into(),
            stream("BT /F1 12 Tf 72 720 Td (before) Tj ET /X1 Do"),
            format!(
                "<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] \
                 /Resources << /XObject << /X1 5 0 R >> >> /Length {} >>\nstream\n{form}\nendstream",
                form.len()
            ),
            FONT.into(),
        ])
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
        let d = extract(
            DocKind::of("m.pdf", &bytes).unwrap(),
            &bytes,
            1 << 20,
            1 << 30,
        )
        .unwrap();
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
        let d = extract(
            DocKind::of("g.DOCX", &bytes).unwrap(),
            &bytes,
            1 << 20,
            1 << 30,
        )
        .unwrap();
        assert_eq!(d.title.as_deref(), Some("Kiosk & Café Guide"));
        assert_eq!(d.starts.len(), 3);
        assert!(d.text.contains("Open 8–18 on weekdays.\tClosed"), "{d:?}");
        assert_eq!(d.unit_at(d.text.find("Coffee & cake").unwrap()), 3);
        // Without core properties the first heading titles it.
        let bytes = samples::docx(None, &[("", "intro"), ("Title", "Field Notes")]);
        let d = extract(DocKind::Docx, &bytes, 1 << 20, 1 << 30).unwrap();
        assert_eq!(d.title.as_deref(), Some("Field Notes"));
    }

    #[test]
    fn broken_documents_are_skipped_with_a_reason() {
        let mut pdf = samples::pdf(&[&["Some text here."]]);
        let cut = pdf.len() / 2;
        pdf.truncate(cut);
        pdf.extend_from_slice(&[0xff; 64]);
        assert!(extract(DocKind::Pdf, &pdf, 1 << 20, 1 << 30).is_err());
        assert!(extract(DocKind::Pdf, b"%PDF-1.4\n garbage", 1 << 20, 1 << 30).is_err());
        assert_eq!(
            extract(DocKind::Docx, b"PK\x03\x04 not a zip", 1 << 20, 1 << 30).unwrap_err(),
            "unreadable DOCX (zip)"
        );
        let big = samples::docx(None, &[("", &"word ".repeat(10_000))]);
        let err = extract(DocKind::Docx, &big, 1000, 1 << 30).unwrap_err();
        assert!(err.contains("--max-file-mib"), "{err}");
        // Not the magic bytes: not a document of that kind.
        assert_eq!(DocKind::of("x.pdf", b"hello"), None);
        // A page tree whose /Parent loops: refused in process (pdf-extract would recurse until
        // the stack overflows); the file is unreadable, not a crash.
        let looped = samples::pdf_parent_loop();
        assert_eq!(
            extract(DocKind::Pdf, &looped, 1 << 20, 1 << 30).unwrap_err(),
            pdf::UNREADABLE
        );
        // A page with no text (a scan).
        let empty = samples::pdf(&[&[]]);
        assert!(extract(DocKind::Pdf, &empty, 1 << 20, 1 << 30)
            .unwrap_err()
            .contains("OCR"));
    }

    /// A page whose operators inflate past the bound is not read (the others are); a page with
    /// more text than the bound keeps the bound's worth.
    #[test]
    fn pages_past_the_content_or_text_bound_are_cut_not_read_whole() {
        // 64 MiB of drawing operators from a few hundred KB of Flate.
        let ops = b"0 0 m 1 1 l S\n".repeat((64 << 20) / 14);
        let bomb = samples::pdf_flate_first_page(&ops);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let p = pdf::read_pages(&bomb).unwrap();
        assert_eq!(p.pages.len(), 2);
        assert_eq!(p.pages[0], None);
        assert!(p.pages[1].as_deref().unwrap().contains("second page"));
        // 2 MiB of text on one page.
        let mut text = b"BT /F1 12 Tf 14 TL 72 720 Td\n".to_vec();
        for _ in 0..(2 << 20) / 40 {
            text.extend_from_slice(b"(a line of words to fill the page) Tj T*\n");
        }
        text.extend_from_slice(b"ET");
        let long = samples::pdf_flate_first_page(&text);
        let p = pdf::read_pages(&long).unwrap();
        let first = p.pages[0].as_deref().expect("the first MiB is kept");
        assert!(
            first.len() <= pdf::MAX_PAGE_TEXT && first.len() > pdf::MAX_PAGE_TEXT / 2,
            "{}",
            first.len()
        );
        assert!(p.pages[1].as_deref().unwrap().contains("second page"));
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
