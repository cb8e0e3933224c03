//! Text layout in character cells: word wrapping and column widths.
//!
//! Receipt printers print single-byte characters in a fixed-width font, so a character is a
//! cell and layout is arithmetic on `char` counts. Wrapping breaks at spaces and only splits a
//! word when it alone is wider than the line (long SKUs, URLs).

use std::ops::Range;

use crate::receipt::ColumnWidth;

/// Byte ranges of `text`, one per printed line, at most `width` characters each. Leading
/// spaces of continuation lines and trailing spaces of every line are dropped; `\n` forces a
/// break; an empty text is one empty line. A zero width is treated as one.
#[must_use]
pub fn wrap_ranges(text: &str, width: usize) -> Vec<Range<usize>> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut para_start = 0;
    for para in text.split('\n') {
        wrap_paragraph(para, para_start, width, &mut out);
        para_start += para.len() + 1;
    }
    out
}

fn wrap_paragraph(para: &str, offset: usize, width: usize, out: &mut Vec<Range<usize>>) {
    let para = para.trim_end();
    let mut start = 0;
    loop {
        let rest = &para[start..];
        // Byte index of the first character that does not fit, if any.
        let Some((cut, _)) = rest.char_indices().nth(width) else {
            out.push(offset + start..offset + para.len());
            return;
        };
        let (line_end, next) = if rest.as_bytes()[cut] == b' ' {
            (cut, cut)
        } else {
            match rest[..cut].rfind(' ') {
                Some(sp) if !rest[..sp].trim_end().is_empty() => (sp, sp),
                _ => (cut, cut),
            }
        };
        let line = rest[..line_end].trim_end();
        out.push(offset + start..offset + start + line.len());
        let skipped = rest[next..].len() - rest[next..].trim_start_matches(' ').len();
        start += next + skipped;
        if start >= para.len() {
            return;
        }
    }
}

/// The lines of `text` wrapped to `width` characters (see [`wrap_ranges`]).
#[must_use]
pub fn wrap(text: &str, width: usize) -> Vec<&str> {
    wrap_ranges(text, width).into_iter().map(|r| &text[r]).collect()
}

/// Columns that cannot fit the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("row needs {needed} characters but the line holds {available}")]
pub struct RowTooWide {
    /// Characters the fixed columns, gaps and one per flexible column need.
    pub needed: usize,
    /// Characters per line at the row's size.
    pub available: usize,
}

/// Widths of columns on a line of `total` characters with `gap` between columns: fixed
/// columns get their width, flexible ones share the rest by weight (the last one takes the
/// rounding remainder). Each flexible column gets at least one character.
pub fn column_widths(
    columns: &[ColumnWidth],
    gap: usize,
    total: usize,
) -> Result<Vec<usize>, RowTooWide> {
    let gaps = gap * columns.len().saturating_sub(1);
    let fixed: usize = columns
        .iter()
        .map(|c| match c {
            ColumnWidth::Fixed(w) => usize::from(*w),
            ColumnWidth::Fill(_) => 0,
        })
        .sum();
    let weight = |w: u16| usize::from(w.max(1));
    let fills: Vec<usize> = columns
        .iter()
        .filter_map(|c| match c {
            ColumnWidth::Fill(w) => Some(weight(*w)),
            ColumnWidth::Fixed(_) => None,
        })
        .collect();
    let needed = fixed + gaps + fills.len();
    if needed > total {
        return Err(RowTooWide { needed, available: total });
    }
    let flexible = total - fixed - gaps;
    let weights: usize = fills.iter().sum();
    let mut remaining = flexible;
    let mut fill_index = 0;
    let widths = columns
        .iter()
        .map(|c| match c {
            ColumnWidth::Fixed(w) => usize::from(*w),
            ColumnWidth::Fill(w) => {
                fill_index += 1;
                let share = if fill_index == fills.len() {
                    remaining
                } else {
                    (flexible * weight(*w) / weights).max(1)
                };
                remaining -= share;
                share
            }
        })
        .collect();
    Ok(widths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_splits_long_words() {
        assert_eq!(
            wrap("Oat flat white with an extra shot", 12),
            ["Oat flat", "white with", "an extra", "shot"]
        );
        assert_eq!(wrap("SKU-1234567890123 x", 8), ["SKU-1234", "56789012", "3 x"]);
        assert_eq!(wrap("exactly ten", 11), ["exactly ten"]);
        assert_eq!(wrap("split here", 5), ["split", "here"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("a\n\nb  ", 10), ["a", "", "b"]);
        assert_eq!(wrap("  indented", 20), ["  indented"]);
        assert_eq!(wrap("abc", 0), ["a", "b", "c"]);
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(wrap("Crème brûlée à la carte", 11), ["Crème", "brûlée à la", "carte"]);
        let ranges = wrap_ranges("é é", 1);
        assert_eq!(ranges, [0..2, 3..5]);
    }

    #[test]
    fn column_widths_fit_32_42_48() {
        use ColumnWidth::{Fill, Fixed};
        let item = [Fixed(3), Fill(1), Fixed(8)];
        assert_eq!(column_widths(&item, 1, 32).unwrap(), [3, 19, 8]);
        assert_eq!(column_widths(&item, 1, 42).unwrap(), [3, 29, 8]);
        assert_eq!(column_widths(&item, 1, 48).unwrap(), [3, 35, 8]);
        assert_eq!(column_widths(&[Fill(2), Fill(1)], 0, 32).unwrap(), [21, 11]);
        assert_eq!(column_widths(&[Fixed(30), Fill(1)], 1, 32).unwrap(), [30, 1]);
        assert_eq!(
            column_widths(&[Fixed(31), Fill(1)], 1, 32),
            Err(RowTooWide { needed: 33, available: 32 })
        );
        assert_eq!(column_widths(&[], 1, 32).unwrap(), Vec::<usize>::new());
    }

    proptest::proptest! {
        #[test]
        fn wrapped_lines_fit_and_keep_every_word(
            words in proptest::collection::vec("[a-zé]{1,12}", 0..20),
            width in 1usize..50,
        ) {
            let text = words.join(" ");
            let lines = wrap(&text, width);
            for line in &lines {
                proptest::prop_assert!(line.chars().count() <= width, "{line:?} > {width}");
            }
            // Words are kept in order; a word wider than the line is split across lines.
            let rejoined: String = lines.concat().split(' ').collect();
            let original: String = words.concat();
            proptest::prop_assert_eq!(rejoined, original);
        }
    }
}
