use crate::canvas::{d, render_png, rgb, FONT};
use crate::{Error, Result};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Loss and accuracy per epoch, train and validation, side by side (from `History::history`).
/// Any metric present is drawn; `val_` series are dashed-colour twins of their training series.
pub fn training_curves(path: impl AsRef<Path>, history: &BTreeMap<String, Vec<f64>>) -> Result<()> {
    let panels: Vec<&str> = ["loss", "accuracy"]
        .into_iter()
        .filter(|k| history.contains_key(*k))
        .collect();
    if panels.is_empty() {
        return Err(Error::Input(
            "training_curves: the history has neither 'loss' nor 'accuracy'".into(),
        ));
    }
    render_png(
        path.as_ref(),
        "training curves",
        560 * panels.len() as u32,
        420,
        |root| {
            d(root.fill(&WHITE))?;
            for (area, key) in root.split_evenly((1, panels.len())).iter().zip(&panels) {
                let train = &history[*key];
                let val = history.get(&format!("val_{key}"));
                let all: Vec<f64> = train
                    .iter()
                    .chain(val.into_iter().flatten())
                    .copied()
                    .filter(|v| v.is_finite())
                    .collect();
                let (lo, hi) = all
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                let pad = ((hi - lo) * 0.1).max(1e-3);
                let epochs = train.len().max(2) as f64;
                let mut chart = d(ChartBuilder::on(area)
                    .caption(
                        format!("{}{}", key[..1].to_uppercase(), &key[1..]),
                        (FONT, 20),
                    )
                    .margin(12)
                    .x_label_area_size(40)
                    .y_label_area_size(56)
                    .build_cartesian_2d(1f64..epochs, (lo - pad)..(hi + pad)))?;
                d(chart
                    .configure_mesh()
                    .x_desc("Epoch")
                    .y_desc(*key)
                    .x_labels(train.len().clamp(2, 12))
                    .x_label_formatter(&|v| format!("{:.0}", v))
                    .label_style((FONT, 12))
                    .axis_desc_style((FONT, 14))
                    .light_line_style(WHITE)
                    .bold_line_style(RGBColor(225, 225, 225))
                    .draw())?;
                let series = [
                    (format!("train {key}"), Some(train), crate::RIGHT),
                    (format!("validation {key}"), val, (255, 127, 14)),
                ];
                for (name, data, color) in series {
                    let Some(data) = data else { continue };
                    let c = rgb(color);
                    d(chart.draw_series(LineSeries::new(
                        data.iter().enumerate().map(|(i, &v)| (i as f64 + 1.0, v)),
                        c.stroke_width(2),
                    )))?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
                    d(chart.draw_series(
                        data.iter()
                            .enumerate()
                            .map(|(i, &v)| Circle::new((i as f64 + 1.0, v), 3, c.filled())),
                    ))?;
                }
                let corner = if *key == "loss" {
                    SeriesLabelPosition::UpperRight
                } else {
                    SeriesLabelPosition::LowerRight
                };
                d(chart
                    .configure_series_labels()
                    .position(corner)
                    .label_font((FONT, 13))
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw())?;
            }
            Ok(())
        },
    )
}
