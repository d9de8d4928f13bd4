use clap::Args;
use rill::data::images::{load_image, ColorMode};
use rill::prelude::*;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file.
    model: PathBuf,
    /// PNG or JPEG images, any size: each is made grayscale and resized to the model's input.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// How many of the most likely classes to print.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Invert the gray levels first (Fashion-MNIST shows light garments on black; most photos
    /// are the other way round).
    #[arg(long)]
    invert: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(a: PredictArgs) -> Result<(), Box<dyn std::error::Error>> {
    let (model, names) = rill::load_model_with_class_names(&a.model)?;
    let input = model
        .input_shape()
        .map(<[usize]>::to_vec)
        .ok_or("the model has no input shape")?;
    let (h, w) = match input[..] {
        [h, w] | [h, w, 1] => (h, w),
        _ => {
            return Err(format!(
                "rill predict handles grayscale image models; this one takes {}",
                rill::nn::batch_shape(&input)
            )
            .into())
        }
    };
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for path in &a.images {
        // An image that cannot be read is reported and the others still get their answers.
        let img = match load_image(path, ColorMode::Grayscale, Some((h, w))) {
            Ok(img) => img,
            Err(e) => {
                eprintln!("rill predict: {e}");
                failed.push((path, e.to_string()));
                continue;
            }
        };
        let mut x = img.to_dtype(DType::F32)?.div_scalar(255.0)?;
        if a.invert {
            x = x.neg()?.add_scalar(1.0)?;
        }
        let mut shape = vec![1];
        shape.extend(&input);
        let out = model.predict(&x.reshape(&shape)?, 1)?;
        let from_logits = model
            .layers()
            .last()
            .is_none_or(|(_, l)| l.kind() != "Softmax");
        let probs = if from_logits { out.softmax(-1)? } else { out }.to_f64_vec();
        let mut ranked: Vec<(usize, f64)> = probs.iter().copied().enumerate().collect();
        ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
        ranked.truncate(a.top.max(1));
        let name = |i: usize| {
            names
                .as_ref()
                .and_then(|n| n.get(i).cloned())
                .unwrap_or_else(|| i.to_string())
        };
        results.push((
            path,
            ranked
                .into_iter()
                .map(|(i, p)| (i, name(i), p))
                .collect::<Vec<_>>(),
        ));
    }
    if a.json {
        let mut v: Vec<_> = results
            .iter()
            .map(|(p, top)| serde_json::json!({"image": p.display().to_string(), "top": top.iter().map(|(i, n, p)| serde_json::json!({"class": i, "name": n, "probability": p})).collect::<Vec<_>>()}))
            .collect();
        v.extend(
            failed
                .iter()
                .map(|(p, e)| serde_json::json!({"image": p.display().to_string(), "error": e})),
        );
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (p, top) in results {
            println!("{}", p.display());
            for (i, n, prob) in top {
                println!("  {:>5.1}%  {n} ({i})", 100.0 * prob);
            }
        }
    }
    match failed.len() {
        0 => Ok(()),
        n => Err(format!("{n} of {} images could not be read", a.images.len()).into()),
    }
}
