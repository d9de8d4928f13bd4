//! `rill`: train, evaluate, inspect and query Rill models from the command line.
//!
//!     rill train --output fashion.rill
//!     rill evaluate fashion.rill
//!     rill predict fashion.rill shoe.png --json
//!     rill summary fashion.rill
//!     rill serve fashion.rill --model-name fashion
//!     rill export fashion.rill -o fashion.onnx
//!     rill export fashion.rill -o fashion.keras

mod predict;
mod serve;
mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Train, evaluate, inspect and query Rill models.
#[derive(Debug, Parser)]
#[command(name = "rill", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on a built-in dataset and save it (with a softmax, so it outputs probabilities).
    Train(train::TrainArgs),
    /// Accuracy and loss of a saved model on a dataset's test split.
    Evaluate {
        /// The model file.
        model: PathBuf,
        /// The dataset to evaluate on.
        #[arg(long, default_value = "fashion-mnist")]
        dataset: String,
    },
    /// Classify PNG or JPEG images with a saved model.
    Predict(predict::PredictArgs),
    /// Serve a model over TensorFlow Serving's REST API.
    Serve(serve::ServeArgs),
    /// Print a saved model's layers and parameter counts.
    Summary {
        /// The model file.
        model: PathBuf,
    },
    /// Write a model in another format: ONNX (.onnx, opset 17), for onnxruntime and other
    /// runtimes; Keras 3 (.keras) or its weights (.weights.h5), for Keras; or Rill's own (.rill).
    Export {
        /// The model file (.rill, .keras or .onnx).
        model: PathBuf,
        /// Where to write it; the extension picks the format (.onnx, .keras, .weights.h5, .rill).
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn export(
    model: &std::path::Path,
    output: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let format = rill::ModelFormat::from_path(output)?;
    let (loaded, class_names) = rill::load_model_with_class_names(model)?;
    rill::save_model_with_classes(&loaded, class_names.as_deref(), output)?;
    let detail = match format {
        rill::ModelFormat::Onnx => format!("ONNX opset {}", rill::onnx::OPSET),
        rill::ModelFormat::Keras => "Keras 3".into(),
        rill::ModelFormat::KerasWeights => "Keras weights".into(),
        rill::ModelFormat::Rill => "Rill".into(),
    };
    println!("Saved {} ({detail})", output.display());
    Ok(())
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Evaluate { model, dataset } => train::evaluate(&model, &dataset),
        Command::Predict(args) => predict::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Summary { model } => {
            print!("{}", rill::load_model(&model)?.summary());
            Ok(())
        }
        Command::Export { model, output } => export(&model, &output),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rill: {e}");
            ExitCode::FAILURE
        }
    }
}
