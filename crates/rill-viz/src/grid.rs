use crate::canvas::{d, render_png, rgb, FONT};
use crate::{Error, Result};
use plotters::prelude::*;
use rill_core::{DType, Tensor};
use std::path::Path;

/// One image with a caption.
#[derive(Debug, Clone)]
pub struct Tile {
    /// A `[height, width]` image, u8 (0–255) or float (0–1), shown in grayscale.
    pub image: Tensor,
    /// Text under the image.
    pub caption: String,
    /// Caption colour.
    pub color: (u8, u8, u8),
}

/// An image, the model's class probabilities for it, and its true label.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// A `[height, width]` image, u8 or float in [0, 1].
    pub image: Tensor,
    /// One probability per class.
    pub probabilities: Vec<f64>,
    /// The true class.
    pub label: usize,
}

/// Grayscale levels 0–255 of a `[h, w]` (or `[h, w, 1]`) u8 or [0, 1] float image.
fn gray_levels(img: &Tensor) -> Result<(usize, usize, Vec<u8>)> {
    let s = img.shape();
    if !(s.len() == 2 || (s.len() == 3 && s[2] == 1)) {
        return Err(Error::Input(format!(
            "expected a [height, width] grayscale image, found shape {s:?}"
        )));
    }
    let levels = match img.dtype() {
        DType::U8 => img
            .to_vec::<u8>()
            .map_err(|e| Error::Input(e.to_string()))?,
        _ => img
            .to_f64_vec()
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect(),
    };
    Ok((s[0], s[1], levels))
}

/// Draws an image filling `area`, with the tutorial's grayscale colour map (`plt.cm.binary`:
/// 0 is white, the maximum is black) and `caption` under it.
fn draw_image(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    img: &Tensor,
    caption: &str,
    color: (u8, u8, u8),
    font: u32,
) -> std::result::Result<(), String> {
    let (h, w, px) = gray_levels(img).map_err(|e| e.to_string())?;
    let (img_area, caption_area) =
        area.split_vertically(area.dim_in_pixel().1.saturating_sub(font + 8));
    let (cw, _) = caption_area.dim_in_pixel();
    let caption_color = rgb(color);
    let style = TextStyle::from((FONT, font).into_font())
        .color(&caption_color)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ));
    d(caption_area.draw(&Text::new(caption.to_string(), (cw as i32 / 2, 2), style)))?;
    let mut chart = d(ChartBuilder::on(&img_area)
        .margin(3)
        .build_cartesian_2d(0..w as i32, 0..h as i32))?;
    d(chart.draw_series((0..h).flat_map(|y| {
        let px = &px;
        (0..w).map(move |x| {
            let v = 255 - px[y * w + x];
            Rectangle::new(
                [
                    (x as i32, (h - 1 - y) as i32),
                    (x as i32 + 1, (h - y) as i32),
                ],
                RGBColor(v, v, v).filled(),
            )
        })
    })))?;
    Ok(())
}

/// A grid of captioned images (the tutorial's 5×5 look at the training data).
pub fn image_grid(path: impl AsRef<Path>, title: &str, tiles: &[Tile], cols: usize) -> Result<()> {
    let cols = cols.max(1);
    let rows = tiles.len().div_ceil(cols).max(1);
    let cell = 160u32;
    render_png(
        path.as_ref(),
        title,
        cell * cols as u32,
        cell * rows as u32 + 40,
        |root| {
            d(root.fill(&WHITE))?;
            let (top, body) = root.split_vertically(40);
            d(top.titled(title, (FONT, 22)))?;
            for (area, t) in body.split_evenly((rows, cols)).iter().zip(tiles) {
                draw_image(area, &t.image, &t.caption, t.color, 14)?;
            }
            Ok(())
        },
    )
}

fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold(0, |best, (i, &v)| if v > p[best] { i } else { best })
}

/// Draws one prediction: the image captioned `predicted confidence% (true)` in blue when right and
/// red when wrong, and beside it the probability of each class as a bar (predicted red, true blue).
fn draw_prediction(
    img_area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    bar_area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    p: &Prediction,
    class_names: &[String],
) -> std::result::Result<(), String> {
    let pred = argmax(&p.probabilities);
    let color = if pred == p.label {
        crate::RIGHT
    } else {
        crate::WRONG
    };
    let name = |i: usize| class_names.get(i).cloned().unwrap_or_else(|| i.to_string());
    let caption = format!(
        "{} {:.0}% ({})",
        name(pred),
        100.0 * p.probabilities[pred],
        name(p.label)
    );
    draw_image(img_area, &p.image, &caption, color, 13)?;
    let n = p.probabilities.len() as i32;
    let mut chart = d(ChartBuilder::on(bar_area)
        .margin(6)
        .x_label_area_size(18)
        .y_label_area_size(28)
        .build_cartesian_2d((0..n).into_segmented(), 0f64..1f64))?;
    d(chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(n as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < n => i.to_string(),
            _ => String::new(),
        })
        .y_labels(3)
        .label_style((FONT, 11))
        .draw())?;
    // Gray bars, the prediction red, the true class blue (blue wins when they coincide), as the tutorial colours them.
    let color = |i: usize| {
        if i == p.label {
            rgb(crate::RIGHT)
        } else if i == pred {
            rgb(crate::WRONG)
        } else {
            RGBColor(119, 119, 119)
        }
    };
    d(chart.draw_series(
        Histogram::vertical(&chart)
            .margin(3)
            .style_func(|v, _| {
                let i = match v {
                    SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => *i as usize,
                    SegmentValue::Last => 0,
                };
                color(i).filled()
            })
            .data(
                p.probabilities
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as i32, v)),
            ),
    ))?;
    Ok(())
}

/// Predictions as a grid of (image, bars) pairs: one pair is the tutorial's single-image
/// check; `rows`×`cols` pairs (5×3) its verification grid.
pub fn prediction_grid(
    path: impl AsRef<Path>,
    title: &str,
    predictions: &[Prediction],
    class_names: &[String],
    rows: usize,
    cols: usize,
) -> Result<()> {
    if let Some(p) = predictions
        .iter()
        .find(|p| p.probabilities.is_empty() || p.label >= p.probabilities.len())
    {
        return Err(Error::Input(format!(
            "prediction with {} probabilities and label {}",
            p.probabilities.len(),
            p.label
        )));
    }
    let (rows, cols) = (rows.max(1), cols.max(1));
    let (cw, ch) = (400u32, 200u32);
    render_png(
        path.as_ref(),
        title,
        cw * cols as u32,
        ch * rows as u32 + 40,
        |root| {
            d(root.fill(&WHITE))?;
            let (top, body) = root.split_vertically(40);
            d(top.titled(title, (FONT, 22)))?;
            for (area, p) in body.split_evenly((rows, cols)).iter().zip(predictions) {
                let (left, right) = area.split_horizontally(ch);
                draw_prediction(&left, &right, p, class_names)?;
            }
            Ok(())
        },
    )
}
