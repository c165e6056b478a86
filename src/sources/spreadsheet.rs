//! Tabular files as a source: a `.csv` (any delimiter, UTF-8 with or without BOM, quoted
//! fields spanning lines) or the first worksheet of an `.xlsx` workbook, read into a header
//! and rows that keep their line (CSV) or row (XLSX) number for error messages.
//!
//! Rows whose cells are all blank are dropped. A row that cannot be decoded (not UTF-8) is
//! kept as a [`Row`] with an error, so the caller can report it by line and go on.

use std::path::Path;

use calamine::{Data, Reader, Xlsx};

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line (CSV: where the record starts) or worksheet row number.
    pub line: u64,
    /// The cells, trimmed; `Err` = the row could not be decoded (the reason).
    pub cells: Result<Vec<String>, String>,
}

/// A whole file: the header row (trimmed) and the data rows after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// The index of the column whose header is `name` (trimmed, case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Reads `path`: `.xlsx` (by extension, case-insensitive) as a workbook, anything else as
/// CSV with `delimiter` (`None` = detected from the header line). The error says what is
/// wrong with the file, without the path (the caller names it).
pub fn read(path: &Path, delimiter: Option<u8>) -> Result<Table, String> {
    let xlsx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        read_xlsx(path)
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
        parse_csv(&bytes, delimiter)
    }
}

/// The delimiter of a CSV file: the most frequent of `,` `;` tab outside quotes in the
/// header line; `,` when none occurs.
pub fn detect_delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(slot) = counts.iter_mut().find(|(d, _)| *d == b) {
                    slot.1 += 1;
                }
            }
            _ => {}
        }
    }
    // Ties go to the earlier (`,`); max_by_key keeps the last maximum, so reverse.
    counts
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

/// Line numbers from byte offsets (the csv crate's own line count is off after `\r\n`).
struct Lines<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    /// The line of the record whose position is `byte` (which may point at the line
    /// terminator before it). Offsets must not decrease between calls.
    fn line_at(&mut self, byte: usize) -> u64 {
        let mut start = byte.min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        let start = start.max(self.offset);
        self.line += self.bytes[self.offset..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.offset = start;
        self.line
    }
}

fn blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.is_empty())
}

/// Parses CSV bytes (a UTF-8 BOM is skipped).
pub fn parse_csv(bytes: &[u8], delimiter: Option<u8>) -> Result<Table, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(bytes));
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut record = ::csv::ByteRecord::new();
    let mut lines = Lines {
        bytes,
        offset: 0,
        line: 1,
    };
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("line {line}: {e}")),
        }
        let line = record
            .position()
            .map_or(line, |p| lines.line_at(p.byte() as usize));
        let cells: Result<Vec<String>, String> = record
            .iter()
            .map(|c| {
                std::str::from_utf8(c)
                    .map(|s| s.trim().to_string())
                    .map_err(|_| "not UTF-8 text; save the file as CSV UTF-8".to_string())
            })
            .collect();
        match (&headers, cells) {
            (None, Ok(cells)) if blank(&cells) => {}
            (None, Ok(cells)) => headers = Some(cells),
            (None, Err(e)) => return Err(format!("the header (line {line}) is {e}")),
            (Some(_), Ok(cells)) if blank(&cells) => {}
            (Some(_), cells) => rows.push(Row { line, cells }),
        }
    }
    let headers = headers.ok_or("the file has no header row")?;
    Ok(Table { headers, rows })
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        // Whole numbers without a trailing ".0" (serials and tags are often numeric).
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string().trim().to_string(),
    }
}

fn read_xlsx(path: &Path) -> Result<Table, String> {
    let mut workbook: Xlsx<_> =
        calamine::open_workbook(path).map_err(|e| format!("cannot open the workbook: {e}"))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or("the workbook has no worksheet")?
        .map_err(|e| format!("cannot read the first worksheet: {e}"))?;
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (index, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if blank(&cells) {
            continue;
        }
        let line = first_row + index as u64 + 1;
        if headers.is_none() {
            headers = Some(cells);
        } else {
            rows.push(Row {
                line,
                cells: Ok(cells),
            });
        }
    }
    let headers = headers.ok_or("the first worksheet is empty")?;
    Ok(Table { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(t: &Table) -> Vec<(u64, Vec<String>)> {
        t.rows
            .iter()
            .map(|r| (r.line, r.cells.clone().unwrap()))
            .collect()
    }

    #[test]
    fn bom_semicolons_quoted_newlines_and_empty_rows() {
        let data = "\u{feff}Asset Tag;Serial;Notes\r\n\r\nPC-1;SN1;\"two\r\nlines; here\"\r\n;;\r\nPC-2; SN2 ;x\r\n";
        let t = parse_csv(data.as_bytes(), None).unwrap();
        assert_eq!(t.headers, ["Asset Tag", "Serial", "Notes"]);
        assert_eq!(t.column("serial"), Some(1));
        assert_eq!(
            cells(&t),
            [
                (
                    3,
                    vec!["PC-1".into(), "SN1".into(), "two\r\nlines; here".into()]
                ),
                (6, vec!["PC-2".into(), "SN2".into(), "x".into()]),
            ]
        );
    }

    #[test]
    fn the_delimiter_is_detected_outside_quotes_or_given() {
        assert_eq!(detect_delimiter(b"a;b;c\n1,2;3"), b';');
        assert_eq!(detect_delimiter(b"\"a;b;c\",d\n"), b',');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b"single\n"), b',');
        let t = parse_csv(b"a|b\n1|2\n", Some(b'|')).unwrap();
        assert_eq!(cells(&t), [(2, vec!["1".into(), "2".into()])]);
    }

    #[test]
    fn undecodable_rows_are_kept_with_their_line_and_empty_files_fail() {
        let t = parse_csv(b"a,b\nok,1\n\xff\xfe,2\n", None).unwrap();
        assert_eq!(t.rows[1].line, 3);
        assert!(t.rows[1].cells.as_ref().unwrap_err().contains("UTF-8"));
        assert!(parse_csv(b"\n\n", None).unwrap_err().contains("no header"));
        assert!(parse_csv(b"\xff,b\n", None).unwrap_err().contains("header"));
    }

    #[test]
    fn xlsx_first_sheet_with_row_numbers_and_whole_numbers_without_decimals() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assets.xlsx");
        let t = read(&path, None).unwrap();
        assert_eq!(t.headers, ["Asset Tag", "Serial", "Customer", "RAM"]);
        let row = |l: u64, c: [&str; 4]| (l, c.map(String::from).to_vec());
        assert_eq!(
            cells(&t),
            [
                row(2, ["XL-001", "XSN-0001", "Contoso Ltd", "16"]),
                row(3, ["XL-002", "XSN-0002", "Contoso Ltd", "32 GB"]),
                row(5, ["XL-003", "12345", "Contoso Ltd", "8"]),
            ]
        );
    }

    #[test]
    fn missing_files_are_errors() {
        let e = read(Path::new("/nonexistent/assets.csv"), None).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
        let e = read(Path::new("/nonexistent/assets.XLSX"), None).unwrap_err();
        assert!(e.contains("cannot open the workbook"), "{e}");
    }
}
