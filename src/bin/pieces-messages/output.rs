//! Human-readable output: terminal width, safe text, previews and aligned columns.

use std::io::{self, Write};

use pieces_os_client::models::GroupedTimestamp;

/// The width used when neither `COLUMNS` nor the terminal says.
pub const DEFAULT_WIDTH: usize = 100;

/// Narrower than this, previews would be useless; the width is raised to it.
const MIN_WIDTH: usize = 40;

/// The width to fit lines into: `COLUMNS` when it is a positive number, else the width of the terminal
/// on standard output, else [`DEFAULT_WIDTH`].
pub fn terminal_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|&width| width > 0);
    from_env
        .or_else(terminal_columns)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

#[cfg(unix)]
#[allow(unsafe_code)] // One ioctl asking the terminal for its size.
fn terminal_columns() -> Option<usize> {
    // SAFETY: `winsize` is four integers, for which all-zero bytes are a valid value.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ only writes a `winsize` into the struct it is given, which outlives the call;
    // on a descriptor that is not a terminal it fails and the struct is not read.
    let status = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (status == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_columns() -> Option<usize> {
    None
}

/// `text` made safe and compact for one line of a terminal: every run of white space and control
/// characters (newlines, tabs, escape sequences' ESC) becomes one space, and the ends are trimmed.
pub fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !line.is_empty();
        } else {
            if pending_space {
                line.push(' ');
                pending_space = false;
            }
            line.push(c);
        }
    }
    line
}

/// `text` cut to at most `width` characters, ending in `…` when it was cut.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// A timestamp as `YYYY-MM-DD HH:MM` in UTC, or the value as received (made safe) when it does not parse.
pub fn short_time(timestamp: &GroupedTimestamp) -> String {
    match timestamp
        .unix_millis()
        .and_then(GroupedTimestamp::from_unix_millis)
    {
        // `YYYY-MM-DDTHH:MM:SS.mmmZ`: keep the date and the minutes.
        Some(utc) => utc.value[..16].replacen('T', " ", 1),
        None => one_line(&timestamp.value),
    }
}

/// Rows of cells printed with every column but the last padded to its widest cell, two spaces apart;
/// the last column is a preview cut to what is left of `width`.
pub struct Table {
    rows: Vec<Row>,
}

enum Row {
    Cells(Vec<String>),
    /// A line of its own (a group heading), not aligned.
    Line(String),
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Table { rows: Vec::new() }
    }

    /// Adds a row; the cells should already be [`one_line`].
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(Row::Cells(cells));
    }

    /// Adds a line that is not part of the columns.
    pub fn line(&mut self, line: String) {
        self.rows.push(Row::Line(line));
    }

    /// Writes the table, each line at most `width` characters.
    pub fn write(&self, out: &mut impl Write, width: usize) -> io::Result<()> {
        let mut widths: Vec<usize> = Vec::new();
        for row in &self.rows {
            if let Row::Cells(cells) = row {
                let leading = cells.len().saturating_sub(1);
                for (index, cell) in cells[..leading].iter().enumerate() {
                    let count = cell.chars().count();
                    match widths.get_mut(index) {
                        Some(widest) => *widest = (*widest).max(count),
                        None => widths.push(count),
                    }
                }
            }
        }
        for row in &self.rows {
            let line = match row {
                Row::Line(line) => cut(line, width),
                Row::Cells(cells) => {
                    let mut line = String::new();
                    let leading = cells.len().saturating_sub(1);
                    for (index, cell) in cells[..leading].iter().enumerate() {
                        line.push_str(cell);
                        let pad = widths[index] - cell.chars().count() + 2;
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                    if let Some(last) = cells.last() {
                        let used = line.chars().count();
                        line.push_str(&cut(last, width.saturating_sub(used)));
                    }
                    cut(line.trim_end(), width)
                }
            };
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_removes_newlines_tabs_and_escapes() {
        assert_eq!(one_line("  a\n\tb \u{1b}[31mred\u{7}  "), "a b [31mred");
        assert_eq!(one_line(""), "");
        assert_eq!(one_line("é 😀"), "é 😀");
    }

    #[test]
    fn cut_counts_characters_and_marks_the_cut() {
        assert_eq!(cut("hello", 5), "hello");
        assert_eq!(cut("hello!", 5), "hell…");
        assert_eq!(cut("héllo wörld", 3), "hé…");
        assert_eq!(cut("x", 0), "");
    }

    #[test]
    fn times_are_shown_in_utc_to_the_minute() {
        assert_eq!(
            short_time(&GroupedTimestamp::new("2024-05-01T10:22:33.123Z")),
            "2024-05-01 10:22"
        );
        assert_eq!(
            short_time(&GroupedTimestamp::new("2024-05-01T12:22:33+02:00")),
            "2024-05-01 10:22"
        );
        assert_eq!(short_time(&GroupedTimestamp::new("yesterday\n")), "yesterday");
    }

    #[test]
    fn tables_align_and_fit_the_width() {
        let mut table = Table::new();
        table.line("conversation c1".to_owned());
        table.row(vec![
            "a".into(),
            "USER".into(),
            "a long text that will not fit in the line".into(),
        ]);
        table.row(vec!["abcdef".into(), "ASSISTANT".into(), "short".into()]);
        let mut out = Vec::new();
        table.write(&mut out, 30).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "conversation c1");
        assert_eq!(lines[1], "a       USER       a long tex…");
        assert_eq!(lines[1].chars().count(), 30);
        assert_eq!(lines[2], "abcdef  ASSISTANT  short");
        assert!(lines.iter().all(|line| line.chars().count() <= 30));
    }
}
