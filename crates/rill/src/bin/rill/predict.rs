use clap::Args;
use rill::data::images::{load_image, ColorMode};
use rill::prelude::*;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file.
    model: PathBuf,
    /// PNG or JPEG images, any size: each is made grayscale and resized to the model's input.
    /// For a model that reads text (it starts with TextVectorization): the texts themselves.
    #[arg(required = true, value_name = "IMAGES_OR_TEXTS")]
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
    if model.input_dtypes() == [DType::Str] {
        return run_text(&a, &model, names.as_deref());
    }
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
        results.push((path, top_classes(&model, &out, names.as_deref(), a.top)?));
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

/// A class: its index, its name and its probability.
type Ranked = (usize, String, f64);

/// A sample's most likely classes — (index, name, probability), best first — from the model's
/// output for it: softmax of logits unless the model ends with Softmax; a single output (a
/// binary classifier's sigmoid) is the probability of class 1.
fn top_classes(
    model: &Model,
    out: &Tensor,
    names: Option<&[String]>,
    top: usize,
) -> Result<Vec<Ranked>, Box<dyn std::error::Error>> {
    let last = model.layers().last().map(|(_, l)| l.kind());
    let probs = match out.shape().last() {
        Some(1) => {
            let p = out.to_f64_vec()[0];
            // A sigmoid gives the probability itself; a logit goes through one.
            let p = if sigmoid_last(model) {
                p
            } else {
                1.0 / (1.0 + (-p).exp())
            };
            vec![1.0 - p, p]
        }
        _ if last == Some("Softmax") => out.to_f64_vec(),
        _ => out.softmax(-1)?.to_f64_vec(),
    };
    let mut ranked: Vec<(usize, f64)> = probs.iter().copied().enumerate().collect();
    ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
    ranked.truncate(top.max(1));
    let name = |i: usize| {
        names
            .and_then(|n| n.get(i).cloned())
            .unwrap_or_else(|| i.to_string())
    };
    Ok(ranked.into_iter().map(|(i, p)| (i, name(i), p)).collect())
}

/// Whether the model's last layer applies a sigmoid (a binary classifier's probability).
fn sigmoid_last(model: &Model) -> bool {
    model.layers().last().is_some_and(|(_, l)| {
        l.config()
            .and_then(|c| c.get("activation").cloned())
            .is_some_and(|a| a == "sigmoid")
    })
}

/// `rill predict` for a model that reads text: each argument is one text.
fn run_text(
    a: &PredictArgs,
    model: &Model,
    names: Option<&[String]>,
) -> Result<(), Box<dyn std::error::Error>> {
    let texts: Vec<String> = a
        .images
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut shape = vec![texts.len()];
    shape.extend(model.input_shape().unwrap_or(&[]));
    let out = model.predict(&Tensor::from_strings(texts.clone(), &shape)?, 64)?;
    let mut results = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let row = out.slice(0, i, i + 1)?;
        results.push((text, top_classes(model, &row, names, a.top)?));
    }
    if a.json {
        let v: Vec<_> = results
            .iter()
            .map(|(t, top)| serde_json::json!({"text": t, "top": top.iter().map(|(i, n, p)| serde_json::json!({"class": i, "name": n, "probability": p})).collect::<Vec<_>>()}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (t, top) in results {
            println!("{t:?}");
            for (i, n, prob) in top {
                println!("  {:>5.1}%  {n} ({i})", 100.0 * prob);
            }
        }
    }
    Ok(())
}
