//! TF Serving's gRPC API over loopback, called by a client built from the same messages (the
//! Python `tensorflow-serving-api` client is run by `tools/grpc_client.py`): status, metadata
//! and predict, pinned versions, every tensor encoding, and errors with gRPC's codes.

use prost::Message;
use rill_core::{set_seed, Tensor};
use rill_nn::prelude::*;
use rill_serve::grpc::proto::*;
use rill_serve::{ModelSet, ModelSource, ModelStore, ServerConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tonic::codegen::http::uri::PathAndQuery;

fn model(seed: u64) -> Sequential {
    set_seed(seed);
    Sequential::new(vec![
        Box::new(Flatten::new()) as Box<dyn Layer>,
        Box::new(Dense::new(4)),
        Box::new(Softmax::new()),
    ])
    .with_input_shape(&[2, 3])
    .unwrap()
}

fn save(dir: &Path, version: u64, m: &Sequential) {
    let v = dir.join(version.to_string());
    std::fs::create_dir_all(&v).unwrap();
    rill_io::save_model(m, v.join("model.rill")).unwrap();
}

fn samples(ks: &[f32]) -> Vec<f32> {
    ks.iter()
        .flat_map(|&k| [k, 0.5, -1.0, 2.0, k, 0.25])
        .collect()
}

fn local(m: &Sequential, ks: &[f32]) -> Vec<f32> {
    let x = Tensor::from_vec(samples(ks), &[ks.len(), 2, 3]).unwrap();
    m.predict(x, 8).unwrap().to_vec::<f32>().unwrap()
}

fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
    Some(TensorShapeProto {
        dim: dims
            .iter()
            .map(|&size| Dim {
                size,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    })
}

fn spec(name: &str, version: Option<i64>, label: &str) -> Option<ModelSpec> {
    Some(ModelSpec {
        name: name.into(),
        version: version.map(|value| Int64Value { value }),
        signature_name: String::new(),
        version_label: label.into(),
    })
}

async fn call<Req, Resp>(
    channel: &tonic::transport::Channel,
    path: &'static str,
    req: Req,
) -> Result<Resp, tonic::Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unknown(e.to_string()))?;
    let codec = tonic::codec::ProstCodec::<Req, Resp>::default();
    grpc.unary(
        tonic::Request::new(req),
        PathAndQuery::from_static(path),
        codec,
    )
    .await
    .map(tonic::Response::into_inner)
}

const PREDICT: &str = "/tensorflow.serving.PredictionService/Predict";

/// A server of `store` on loopback (REST and gRPC), and a channel to its gRPC port; send on the
/// sender to stop it, then await the handle.
struct Running {
    channel: tonic::transport::Channel,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The two-thread runtime the tests serve on.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn start(store: Arc<ModelStore>) -> Running {
    let rest = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = grpc.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        poll_interval: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let server = tokio::spawn(rill_serve::serve_with_grpc(
        rest,
        Some(grpc),
        Arc::new(ModelSet::single(store)),
        config,
        async {
            let _ = stopped.await;
        },
    ));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Running {
        channel,
        stop,
        server,
    }
}

#[test]
fn predict_metadata_and_status_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2) = (model(1), model(2));
    save(dir.path(), 1, &v1);
    let store = Arc::new(
        ModelStore::open("demo", ModelSource::BasePath(dir.path().to_path_buf())).unwrap(),
    );
    let rt = runtime();
    rt.block_on(async {
        let Running {
            channel,
            stop,
            server,
        } = start(store).await;

        // Status and metadata.
        let status: GetModelStatusResponse = call(
            &channel,
            "/tensorflow.serving.ModelService/GetModelStatus",
            GetModelStatusRequest {
                model_spec: spec("demo", None, ""),
            },
        )
        .await
        .unwrap();
        assert_eq!(status.model_version_status.len(), 1);
        let s = &status.model_version_status[0];
        assert_eq!((s.version, s.state), (1, state::AVAILABLE));
        let meta: GetModelMetadataResponse = call(
            &channel,
            "/tensorflow.serving.PredictionService/GetModelMetadata",
            GetModelMetadataRequest {
                model_spec: spec("demo", None, ""),
                metadata_field: vec!["signature_def".into()],
            },
        )
        .await
        .unwrap();
        let any = &meta.metadata["signature_def"];
        assert_eq!(
            any.type_url,
            "type.googleapis.com/tensorflow.serving.SignatureDefMap"
        );
        let map = SignatureDefMap::decode(any.value.as_slice()).unwrap();
        let sig = &map.signature_def["serving_default"];
        assert_eq!(sig.method_name, "tensorflow/serving/predict");
        let (input_name, input) = sig.inputs.iter().next().unwrap();
        let dims: Vec<i64> = input
            .tensor_shape
            .as_ref()
            .unwrap()
            .dim
            .iter()
            .map(|d| d.size)
            .collect();
        assert_eq!((input.dtype, dims), (dtype::FLOAT, vec![-1, 2, 3]));
        let output_name = sig.outputs.keys().next().unwrap().clone();

        // Predict: float_val, tensor_content, an extra axis of size 1, a pinned version.
        let ks = [0.5f32, -2.0, 3.0];
        let request = |t: TensorProto, version: Option<i64>| PredictRequest {
            model_spec: spec("demo", version, ""),
            inputs: [(input_name.clone(), t)].into(),
            output_filter: vec![],
        };
        let floats = TensorProto {
            dtype: dtype::FLOAT,
            tensor_shape: shape(&[3, 2, 3]),
            float_val: samples(&ks),
            ..TensorProto::default()
        };
        let bytes = TensorProto {
            dtype: dtype::DOUBLE,
            tensor_shape: shape(&[3, 2, 3, 1]),
            tensor_content: samples(&ks)
                .iter()
                .flat_map(|&v| (v as f64).to_le_bytes())
                .collect(),
            ..TensorProto::default()
        };
        for t in [floats.clone(), bytes] {
            let r: PredictResponse = call(&channel, PREDICT, request(t, None)).await.unwrap();
            let out = &r.outputs[&output_name];
            let dims: Vec<i64> = out
                .tensor_shape
                .as_ref()
                .unwrap()
                .dim
                .iter()
                .map(|d| d.size)
                .collect();
            assert_eq!(dims, [3, 4]);
            let want = local(&v1, &ks);
            assert!(out
                .float_val
                .iter()
                .zip(&want)
                .all(|(a, b)| (a - b).abs() < 1e-6));
            assert_eq!(r.model_spec.unwrap().version.unwrap().value, 1);
        }

        // A newer version appears; a request pinned to 1 is refused once 1 is unloaded, the
        // latest answers as version 2.
        save(dir.path(), 2, &v2);
        let mut answered_by_2 = false;
        for _ in 0..200 {
            let r: PredictResponse = call(&channel, PREDICT, request(floats.clone(), None))
                .await
                .unwrap();
            if r.model_spec.unwrap().version.unwrap().value == 2 {
                let out = &r.outputs[&output_name].float_val;
                assert!(out
                    .iter()
                    .zip(&local(&v2, &ks))
                    .all(|(a, b)| (a - b).abs() < 1e-6));
                answered_by_2 = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(answered_by_2);
        let gone =
            call::<_, PredictResponse>(&channel, PREDICT, request(floats.clone(), Some(1))).await;
        assert_eq!(gone.unwrap_err().code(), tonic::Code::NotFound);

        // Errors carry gRPC's codes and say what is wrong.
        let cases: Vec<(PredictRequest, tonic::Code, &str)> = vec![
            (
                PredictRequest {
                    model_spec: spec("nope", None, ""),
                    ..request(floats.clone(), None)
                },
                tonic::Code::NotFound,
                "Latest(nope)",
            ),
            (
                request(
                    TensorProto {
                        tensor_shape: shape(&[3, 3, 2]),
                        ..floats.clone()
                    },
                    None,
                ),
                tonic::Code::InvalidArgument,
                "each sample has shape [3, 2]; the model takes [2, 3]",
            ),
            (
                // A shape that declares far more values than the message holds.
                request(
                    TensorProto {
                        tensor_shape: shape(&[1 << 40, 2, 3]),
                        ..floats.clone()
                    },
                    None,
                ),
                tonic::Code::InvalidArgument,
                "the tensor has 18",
            ),
            (
                request(
                    TensorProto {
                        dtype: 7,
                        ..floats.clone()
                    },
                    None,
                ),
                tonic::Code::InvalidArgument,
                "not a numeric type",
            ),
            (
                PredictRequest {
                    output_filter: vec!["nothing".into()],
                    ..request(floats.clone(), None)
                },
                tonic::Code::InvalidArgument,
                "output_filter names 'nothing'",
            ),
        ];
        for (req, code, want) in cases {
            let e = call::<_, PredictResponse>(&channel, PREDICT, req)
                .await
                .unwrap_err();
            assert_eq!(e.code(), code, "{}", e.message());
            assert!(e.message().contains(want), "{}", e.message());
        }
        let e = call::<_, PredictResponse>(
            &channel,
            "/tensorflow.serving.PredictionService/Classify",
            request(floats, None),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unimplemented);

        let _ = stop.send(());
        server.await.unwrap().unwrap();
    });
}

/// Keras' own text model (vocabulary in the file's assets) over gRPC: its signature says
/// DT_STRING, `string_val` samples give Keras' outputs, and floats are refused by name.
#[test]
fn a_text_model_takes_string_val_over_grpc() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rill-keras/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("1")).unwrap();
    std::fs::copy(fixtures.join("text.keras"), dir.path().join("1/text.keras")).unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("text.json")).unwrap())
            .unwrap();
    let probes: Vec<Vec<u8>> = record["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().as_bytes().to_vec())
        .collect();
    let want: Vec<f32> = serde_json::from_value(record["outputs"][0]["data"].clone()).unwrap();
    let store = Arc::new(
        ModelStore::open("text", ModelSource::BasePath(dir.path().to_path_buf())).unwrap(),
    );
    let rt = runtime();
    rt.block_on(async {
        let Running {
            channel,
            stop,
            server,
        } = start(store).await;
        let meta: GetModelMetadataResponse = call(
            &channel,
            "/tensorflow.serving.PredictionService/GetModelMetadata",
            GetModelMetadataRequest {
                model_spec: spec("text", None, ""),
                metadata_field: vec!["signature_def".into()],
            },
        )
        .await
        .unwrap();
        let map = SignatureDefMap::decode(meta.metadata["signature_def"].value.as_slice()).unwrap();
        let sig = &map.signature_def["serving_default"];
        let (input_name, input) = sig.inputs.iter().next().unwrap();
        assert_eq!(input.dtype, dtype::STRING);
        let output_name = sig.outputs.keys().next().unwrap().clone();
        let n = probes.len() as i64;
        let request = |t: TensorProto| PredictRequest {
            model_spec: spec("text", None, ""),
            inputs: [(input_name.clone(), t)].into(),
            output_filter: vec![],
        };
        // As TF Serving's client sends `tf.make_tensor_proto(["…", …])`: a (n,) DT_STRING
        // tensor; and as (n, 1), the model's own shape.
        for dims in [vec![n], vec![n, 1]] {
            let strings = TensorProto {
                dtype: dtype::STRING,
                tensor_shape: shape(&dims),
                string_val: probes.clone(),
                ..TensorProto::default()
            };
            let r: PredictResponse = call(&channel, PREDICT, request(strings)).await.unwrap();
            let got = &r.outputs[&output_name].float_val;
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "Rill {g}, Keras {w}");
            }
        }
        let floats = TensorProto {
            dtype: dtype::FLOAT,
            tensor_shape: shape(&[1, 1]),
            float_val: vec![1.0],
            ..TensorProto::default()
        };
        let err = call::<_, PredictResponse>(&channel, PREDICT, request(floats))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.message()
                .contains("takes text (DT_STRING), found DT_FLOAT"),
            "{}",
            err.message()
        );
        let bad_utf8 = TensorProto {
            dtype: dtype::STRING,
            tensor_shape: shape(&[1]),
            string_val: vec![vec![0xff, 0xfe]],
            ..TensorProto::default()
        };
        let err = call::<_, PredictResponse>(&channel, PREDICT, request(bad_utf8))
            .await
            .unwrap_err();
        assert!(err.message().contains("not UTF-8"), "{}", err.message());
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    });
}
