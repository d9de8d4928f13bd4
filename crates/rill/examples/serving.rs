//! TensorFlow guide "Serving a model with TF Serving", in Rill: save the model in TF Serving's
//! layout (`base/<version>/`), serve it over TF Serving's REST API, and query it as a TF
//! Serving client would: the model's signature, then `:predict` with `"instances"`.
//!
//!     cargo run --release --example serving
//!
//! The same server from the command line: `rill serve --model-base-path out/serving/fashion`.

use rill::prelude::*;
use rill::serve::{ModelSet, ModelSource, ModelStore, ServerConfig};
use serde_json::{json, Value};
use std::error::Error;
use std::path::Path;
use std::sync::Arc;

/// Per image, the probability of each class.
type Rows = Vec<Vec<f64>>;

/// Trains for `epochs`, serves the model on a free loopback port and asks it about the first
/// `k` test images; returns the served answers and the model's own predictions for them.
pub fn run(epochs: usize, k: usize, out: &Path) -> Result<(Rows, Rows), Box<dyn Error>> {
    set_seed(8);
    let data = rill::datasets::fashion_mnist::load_data()?;
    let mut model = rill::zoo::fashion_mnist_mlp()?;
    model.add(Softmax::new())?;
    model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::default(),
        &["accuracy"],
    )?;
    let scale = |images: &Tensor| images.to_dtype(DType::F32)?.div_scalar(255.0);
    model.fit(
        (scale(&data.train.images)?, &data.train.labels),
        FitConfig::default().epochs(epochs),
    )?;
    let base = out.join("fashion");
    std::fs::create_dir_all(base.join("1"))?;
    model.save(base.join("1/model.rill"))?;

    // The server, on its own runtime, until `stop` is sent.
    let store = Arc::new(ModelStore::open("fashion", ModelSource::BasePath(base))?);
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/v1/models/fashion", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(rill::serve::serve(
        listener,
        Arc::new(ModelSet::single(store)),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));

    // A client: the signature, then a prediction for k images scaled as the model expects.
    let metadata: Value = ureq::get(format!("{url}/metadata"))
        .call()?
        .body_mut()
        .read_json()?;
    println!(
        "signature: {}",
        metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    );
    let images = scale(&data.test.images.slice(0, 0, k)?)?;
    let values = images.to_vec::<f32>()?;
    let pixels: Vec<Vec<&[f32]>> = values
        .chunks(784)
        .map(|image| image.chunks(28).collect())
        .collect();
    let request = json!({"signature_name": "serving_default", "instances": pixels});
    let reply: Value = ureq::post(format!("{url}:predict"))
        .send_json(&request)?
        .body_mut()
        .read_json()?;
    let served: Rows = serde_json::from_value(reply["predictions"].clone())?;
    for (i, p) in served.iter().enumerate() {
        let best = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
        println!(
            "image {i}: {} ({:.1}%)",
            data.class_names[best],
            p[best] * 100.0
        );
    }
    let local = model
        .predict(&images, k)?
        .to_f64_vec()
        .chunks(10)
        .map(<[f64]>::to_vec)
        .collect();
    let _ = stop.send(());
    runtime.block_on(server)??;
    Ok((served, local))
}

fn main() -> Result<(), Box<dyn Error>> {
    run(1, 5, Path::new("out/serving")).map(|_| ())
}
