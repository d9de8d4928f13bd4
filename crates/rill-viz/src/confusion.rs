use crate::canvas::{d, render_png, FONT};
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// A confusion-matrix heat map: row = true class, column = predicted class, each cell shaded by
/// its share of the row and labelled with its count.
pub fn confusion_matrix(
    path: impl AsRef<Path>,
    title: &str,
    counts: &[Vec<u64>],
    class_names: &[String],
) -> Result<()> {
    let n = counts.len();
    if n == 0 || counts.iter().any(|r| r.len() != n) || class_names.len() != n {
        return Err(Error::Input(format!("confusion_matrix: expected a square matrix with one name per class, found {n} rows and {} names", class_names.len())));
    }
    let cell = 64u32;
    let (left, top) = (120u32, 60u32);
    render_png(
        path.as_ref(),
        title,
        left + cell * n as u32 + 20,
        top + cell * n as u32 + 110,
        |root| {
            d(root.fill(&WHITE))?;
            d(root.draw(&Text::new(title.to_string(), (left as i32, 18), (FONT, 22))))?;
            for (r, row) in counts.iter().enumerate() {
                let total = row.iter().sum::<u64>().max(1) as f64;
                for (c, &v) in row.iter().enumerate() {
                    let share = v as f64 / total;
                    // White to dark blue, like matplotlib's "Blues".
                    let shade = |a: f64, b: f64| (a + (b - a) * share).round() as u8;
                    let color =
                        RGBColor(shade(247.0, 8.0), shade(251.0, 48.0), shade(255.0, 107.0));
                    let (x0, y0) = (
                        (left + c as u32 * cell) as i32,
                        (top + r as u32 * cell) as i32,
                    );
                    d(root.draw(&Rectangle::new(
                        [(x0, y0), (x0 + cell as i32, y0 + cell as i32)],
                        color.filled(),
                    )))?;
                    let text_color = if share > 0.5 { WHITE } else { BLACK };
                    let label = v.to_string();
                    let x = x0 + cell as i32 / 2 - 4 * label.len() as i32;
                    d(root.draw(&Text::new(
                        label,
                        (x, y0 + cell as i32 / 2 - 7),
                        (FONT, 14).into_font().color(&text_color),
                    )))?;
                }
                d(root.draw(&Text::new(
                    class_names[r].clone(),
                    (6, (top + r as u32 * cell + cell / 2 - 7) as i32),
                    (FONT, 13),
                )))?;
            }
            let bottom = (top + n as u32 * cell) as i32;
            for (c, name) in class_names.iter().enumerate() {
                let x = (left + c as u32 * cell) as i32 + 2;
                // Long names are split over two lines to fit their column.
                let (a, b) = match name.find(['/', ' ']) {
                    Some(i) if name.len() > 8 => (&name[..=i], &name[i + 1..]),
                    _ => (name.as_str(), ""),
                };
                d(root.draw(&Text::new(a.to_string(), (x, bottom + 6), (FONT, 12))))?;
                d(root.draw(&Text::new(b.to_string(), (x, bottom + 20), (FONT, 12))))?;
            }
            d(root.draw(&Text::new(
                "Predicted label",
                ((left + cell * n as u32 / 2) as i32 - 50, bottom + 44),
                (FONT, 15),
            )))?;
            d(root.draw(&Text::new("rows: true label", (6, bottom + 44), (FONT, 13))))?;
            Ok(())
        },
    )
}
