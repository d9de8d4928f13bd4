//! Fault injection over real sockets on loopback, each bounded in time: crafted and panicking
//! model files, versions appearing, failing and disappearing, clients that stall, hold
//! connections or send too much, models that panic, and values JSON has no words for.

use rill_core::{set_seed, Tensor};
use rill_nn::layers::{register_layer, Configurable};
use rill_nn::prelude::*;
use rill_serve::batcher::BatchConfig;
use rill_serve::{ModelSet, ModelSource, ModelStore, ServerConfig, VersionPolicy};
use rill_test_support::server::{agent, get, post_text as post, Server};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A layer that misbehaves on purpose: its loading panics (`on_load`), its call panics on an
/// input of 666, or every call takes 300 ms (`slow`).
struct Tripwire {
    mode: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TripwireConfig {
    mode: String,
}

impl Configurable for Tripwire {
    const KIND: &'static str = "Tripwire";
    type Config = TripwireConfig;
    fn get_config(&self) -> TripwireConfig {
        TripwireConfig {
            mode: self.mode.clone(),
        }
    }
    fn from_config(c: TripwireConfig) -> rill_nn::Result<Self> {
        assert!(c.mode != "on_load", "a layer that panics while loading");
        Ok(Tripwire { mode: c.mode })
    }
}

impl Layer for Tripwire {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> rill_nn::Result<Vec<usize>> {
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, _t: bool) -> rill_nn::Result<Tensor> {
        if x.to_f64_vec().contains(&666.0) {
            panic!("the tripwire was touched");
        }
        if self.mode == "slow" {
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(x.clone())
    }
}

/// A model on `[2, 3]` samples with 4 outputs, its first layer a [`Tripwire`] in `mode`.
fn model(seed: u64, mode: &str) -> Sequential {
    register_layer::<Tripwire>();
    set_seed(seed);
    Sequential::new(vec![
        Box::new(Tripwire { mode: mode.into() }) as Box<dyn Layer>,
        Box::new(Flatten::new()),
        Box::new(Dense::new(4)),
    ])
    .with_input_shape(&[2, 3])
    .unwrap()
}

fn save(dir: &Path, version: u64, m: &Sequential) {
    let v = dir.join(version.to_string());
    std::fs::create_dir_all(&v).unwrap();
    rill_io::save_model(m, v.join("model.rill")).unwrap();
}

fn predict_local(m: &Sequential, k: f32) -> Vec<f32> {
    let x = Tensor::from_vec(vec![k, 0.5, -1.0, 2.0, k, 0.25], &[1, 2, 3]).unwrap();
    m.predict(x, 1).unwrap().to_vec::<f32>().unwrap()
}

fn instance(k: f32) -> Value {
    json!([[k, 0.5, -1.0], [2.0, k, 0.25]])
}

fn predictions(body: &str) -> Vec<Vec<f32>> {
    let v: Value = serde_json::from_str(body).unwrap();
    v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

/// Whether the server closed `stream` (EOF or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

fn quick(config: ServerConfig) -> ServerConfig {
    ServerConfig {
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(400),
        poll_interval: Duration::from_millis(50),
        ..config
    }
}

#[test]
fn a_version_that_fails_or_panics_while_loading_never_takes_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = model(1, "plain");
    save(dir.path(), 1, &v1);
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    // Version 2: garbage. Version 3: a model whose loading panics.
    std::fs::create_dir_all(dir.path().join("2")).unwrap();
    std::fs::write(dir.path().join("2/model.rill"), b"not a model at all").unwrap();
    save(dir.path(), 3, &model(3, "on_load"));
    let events = store.refresh();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events
        .iter()
        .any(|e| e.contains("version 2 failed to load")));
    assert!(
        events
            .iter()
            .any(|e| e.contains("version 3 failed to load") && e.contains("panicked")),
        "{events:?}"
    );
    assert_eq!(store.served_versions(), [1]);
    // Reported once: an unchanged bad file is not read again.
    assert!(store.refresh().is_empty());
    let states: Vec<(u64, &str)> = store
        .statuses()
        .iter()
        .map(|s| (s.version, s.state))
        .collect();
    assert_eq!(states, [(3, "END"), (2, "END"), (1, "AVAILABLE")]);

    let mut s = Server::start_store(store, quick(ServerConfig::default()));
    let (code, body) = post(
        &s.url("/v1/models/m:predict"),
        &json!({"instances": [instance(1.0)]}).to_string(),
    );
    assert_eq!(code, 200, "{body}");
    assert!(close(&predictions(&body)[0], &predict_local(&v1, 1.0)));
    let (_, status) = get(&s.url("/v1/models/m"));
    assert_eq!(status["model_version_status"][0]["state"], "END");
    assert!(status["model_version_status"][0]["status"]["error_message"]
        .as_str()
        .unwrap()
        .contains("panicked"));
    // A fixed file for version 2 is picked up: the fix is a change.
    let v2 = model(2, "plain");
    save(dir.path(), 2, &v2);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = post(
            &s.url("/v1/models/m/versions/2:predict"),
            &json!({"instances": [instance(1.0)]}).to_string(),
        );
        if body.contains("predictions") {
            assert!(close(&predictions(&body)[0], &predict_local(&v2, 1.0)));
            break;
        }
        assert!(Instant::now() < deadline, "version 2 never loaded: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    s.stop();
}

#[test]
fn removing_the_served_version_falls_back_to_the_highest_remaining() {
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2) = (model(1, "plain"), model(2, "plain"));
    save(dir.path(), 1, &v1);
    save(dir.path(), 2, &v2);
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    assert_eq!(store.served_versions(), [2]);
    std::fs::remove_dir_all(dir.path().join("2")).unwrap();
    let events = store.refresh();
    assert_eq!(store.served_versions(), [1]);
    assert!(
        events.iter().any(
            |e| e.contains("version 2 unloaded, its folder was removed; now serving version 1")
        ),
        "{events:?}"
    );
    // The last version is never unloaded, even when its folder goes too.
    std::fs::remove_dir_all(dir.path().join("1")).unwrap();
    let events = store.refresh();
    assert_eq!(store.served_versions(), [1]);
    assert!(events[0].contains("still serving it"), "{events:?}");
    assert!(store.refresh().is_empty(), "said once");
}

#[test]
fn version_policies_and_labels_route_each_request_to_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let models: Vec<Sequential> = (1..=3).map(|v| model(v, "plain")).collect();
    for (i, m) in models.iter().enumerate() {
        save(dir.path(), i as u64 + 1, m);
    }
    let labels = BTreeMap::from([("stable".to_string(), 1), ("canary".to_string(), 3)]);
    let store = ModelStore::with_policy(
        "m",
        ModelSource::BasePath(dir.path().to_path_buf()),
        VersionPolicy::Specific(vec![1, 3]),
        labels,
    )
    .unwrap();
    assert_eq!(store.served_versions(), [1, 3]);
    let s = Server::start_store(store, quick(ServerConfig::default()));
    let body = json!({"instances": [instance(0.5)]}).to_string();
    for (path, want) in [
        ("/v1/models/m:predict", &models[2]),
        ("/v1/models/m/versions/1:predict", &models[0]),
        ("/v1/models/m/labels/stable:predict", &models[0]),
        ("/v1/models/m/labels/canary:predict", &models[2]),
    ] {
        let (code, got) = post(&s.url(path), &body);
        assert_eq!(code, 200, "{path}: {got}");
        assert!(
            close(&predictions(&got)[0], &predict_local(want, 0.5)),
            "{path}"
        );
    }
    assert_eq!(
        post(&s.url("/v1/models/m/versions/2:predict"), &body).0,
        404
    );
    assert_eq!(
        post(&s.url("/v1/models/m/labels/beta:predict"), &body).0,
        404
    );
    let (code, meta) = get(&s.url("/v1/models/m/labels/stable/metadata"));
    assert_eq!(
        (code, meta["model_spec"]["version"].as_str()),
        (200, Some("1"))
    );
    let (_, status) = get(&s.url("/v1/models/m"));
    assert_eq!(status["model_version_status"].as_array().unwrap().len(), 2);

    let all = ModelStore::with_policy(
        "m",
        ModelSource::BasePath(dir.path().to_path_buf()),
        VersionPolicy::All,
        BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(all.served_versions(), [1, 2, 3]);
    let latest2 = ModelStore::with_policy(
        "m",
        ModelSource::BasePath(dir.path().to_path_buf()),
        VersionPolicy::Latest(2),
        BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(latest2.served_versions(), [2, 3]);
}

#[test]
fn a_model_that_panics_is_answered_500_and_the_workers_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(4, "on_666");
    save(dir.path(), 1, &m);
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    let s = Server::start_store(
        store,
        quick(ServerConfig {
            batch: BatchConfig {
                inference_threads: 1,
                ..BatchConfig::default()
            },
            ..ServerConfig::default()
        }),
    );
    let url = s.url("/v1/models/m:predict");
    for _ in 0..3 {
        let (code, body) = post(&url, &json!({"instances": [instance(666.0)]}).to_string());
        assert_eq!(code, 500, "{body}");
        assert!(body.contains("the tripwire was touched"), "{body}");
        let (code, body) = post(&url, &json!({"instances": [instance(1.0)]}).to_string());
        assert_eq!(code, 200, "the one worker survived: {body}");
    }
    assert_eq!(
        get(&s.url("/v1/models/m")).1["model_version_status"][0]["state"],
        "AVAILABLE"
    );
}

#[test]
fn nan_infinity_size_one_axes_and_large_requests() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(5, "plain");
    save(dir.path(), 1, &m);
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    let s = Server::start_store(
        store,
        quick(ServerConfig {
            batch: BatchConfig {
                max_batch_size: 4,
                ..BatchConfig::default()
            },
            ..ServerConfig::default()
        }),
    );
    let url = s.url("/v1/models/m:predict");
    // NaN and Infinity in, NaN out, as TF Serving writes them.
    let (code, body) = post(
        &url,
        r#"{"instances": [[[NaN, 0.5, -1.0], [2.0, 1.0, Infinity]], [[1, 0.5, -1], [2, 1, 0.25]]]}"#,
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        body.starts_with(r#"{"predictions":[[NaN,NaN,NaN,NaN],["#),
        "{body}"
    );
    // Samples with an extra axis of size 1 (TF Serving's tutorial client sends 28×28×1).
    let with_axis = json!({"instances": [[[[1.0], [0.5], [-1.0]], [[2.0], [1.0], [0.25]]]]});
    let (code, body) = post(&url, &with_axis.to_string());
    assert_eq!(code, 200, "{body}");
    assert!(close(&predictions(&body)[0], &predict_local(&m, 1.0)));
    // 10 instances through batches of 4: every answer its own, in order.
    let ks: Vec<f32> = (0..10).map(|i| i as f32 * 0.3).collect();
    let body = json!({"instances": ks.iter().map(|&k| instance(k)).collect::<Vec<_>>()});
    let (code, body) = post(&url, &body.to_string());
    assert_eq!(code, 200, "{body}");
    let got = predictions(&body);
    assert_eq!(got.len(), 10);
    for (g, &k) in got.iter().zip(&ks) {
        assert!(close(g, &predict_local(&m, k)));
    }
}

#[test]
fn stalled_headers_idle_connections_and_slow_bodies_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), 1, &model(6, "plain"));
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    let s = Server::start_store(store, quick(ServerConfig::default()));
    // Half-sent headers: closed after the header timeout.
    let mut half = TcpStream::connect(s.addr).unwrap();
    half.write_all(b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let t = Instant::now();
    assert!(closed_within(&mut half, Duration::from_secs(5)));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // An idle kept-alive connection: closed too.
    let mut idle = TcpStream::connect(s.addr).unwrap();
    idle.write_all(b"GET /v1/models/m HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
    // A body that stops coming: 408.
    let mut slow = TcpStream::connect(s.addr).unwrap();
    slow.write_all(
        b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"inst",
    )
    .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within"), "{answer}");
}

#[test]
fn held_connections_cannot_lock_clients_out_for_longer_than_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), 1, &model(7, "plain"));
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    let s = Server::start_store(
        store,
        quick(ServerConfig {
            max_connections: 8,
            ..ServerConfig::default()
        }),
    );
    // 20 attackers open connections and send nothing: 8 are accepted, the rest wait.
    let mut held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    // A real client queues behind them and is served once the header timeout has cleared the
    // stalled ones ahead of it: within a few timeouts, never locked out.
    let t = Instant::now();
    let body = json!({"instances": [instance(1.0)]}).to_string();
    let (code, _) = post(&s.url("/v1/models/m:predict"), &body);
    assert_eq!(code, 200);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    // And every stalled connection was closed by the server, none held for good.
    for c in held.iter_mut() {
        assert!(closed_within(c, Duration::from_secs(5)));
    }
}

#[test]
fn shutdown_does_not_wait_forever_for_a_stalled_client() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), 1, &model(8, "plain"));
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    let mut s = Server::start_store(
        store,
        ServerConfig {
            // Timeouts far longer than the shutdown deadline: the deadline must end it.
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            shutdown_deadline: Duration::from_millis(500),
            ..ServerConfig::default()
        },
    );
    let mut stalled = TcpStream::connect(s.addr).unwrap();
    stalled
        .write_all(b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let took = s.stop();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    drop(stalled);
}

#[test]
fn work_for_clients_that_left_is_dropped_unrun() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), 1, &model(10, "slow"));
    let store = ModelStore::open("m", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    let s = Server::start_store(
        store,
        quick(ServerConfig {
            batch: BatchConfig {
                max_batch_size: 1,
                inference_threads: 1,
                ..BatchConfig::default()
            },
            ..ServerConfig::default()
        }),
    );
    let body = json!({"instances": [instance(1.0)]}).to_string();
    let request = format!(
        "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // One client keeps the single worker busy; five more ask and hang up at once.
    let mut busy = TcpStream::connect(s.addr).unwrap();
    busy.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    for _ in 0..5 {
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.write_all(request.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(c);
    }
    let t = Instant::now();
    let mut answer = [0u8; 12];
    busy.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    // Had the five run, a new request would wait for 5 × 300 ms; it waits for none of them.
    let (code, _) = post(&s.url("/v1/models/m:predict"), &body);
    assert_eq!(code, 200);
    assert!(
        t.elapsed() < Duration::from_millis(1200),
        "{:?}",
        t.elapsed()
    );
    let metrics = agent()
        .get(s.url("/monitoring/prometheus/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(metrics.contains("rill_abandoned_jobs_total 5"), "{metrics}");
}

#[test]
fn a_model_config_file_serves_several_models_and_is_reread_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let a_models: Vec<Sequential> = (1..=2).map(|v| model(20 + v, "plain")).collect();
    save(&a, 1, &a_models[0]);
    save(&a, 2, &a_models[1]);
    let b1 = model(30, "plain");
    save(&b, 1, &b1);
    let config = dir.path().join("models.config");
    let write_config = |extra: &str| {
        let text = format!(
            "model_config_list {{\n  config {{ name: 'a' base_path: '{}' model_platform: 'tensorflow'\n    model_version_policy {{ all {{}} }}\n    version_labels {{ key: 'stable' value: 1 }} {extra} }}\n  config {{ name: 'b' base_path: '{}' }}\n}}\n",
            a.display(),
            b.display()
        );
        std::fs::write(&config, text).unwrap();
    };
    write_config("");
    let set = ModelSet::from_config_file(&config).unwrap();
    let s = Server::start(set, quick(ServerConfig::default()));
    let body = json!({"instances": [instance(0.25)]}).to_string();
    let answer = |path: &str| {
        let (code, text) = post(&s.url(path), &body);
        (code == 200).then(|| predictions(&text)[0].clone())
    };
    let want = |m: &Sequential| Some(predict_local(m, 0.25));
    let same = |got: Option<Vec<f32>>, want: Option<Vec<f32>>| match (got, want) {
        (Some(g), Some(w)) => close(&g, &w),
        (g, w) => g.is_none() && w.is_none(),
    };
    assert!(same(answer("/v1/models/a:predict"), want(&a_models[1])));
    assert!(same(
        answer("/v1/models/a/labels/stable:predict"),
        want(&a_models[0])
    ));
    assert!(same(answer("/v1/models/b:predict"), want(&b1)));
    assert!(answer("/v1/models/a/labels/canary:predict").is_none());

    // A new label appears without a restart.
    write_config("version_labels { key: 'canary' value: 2 }");
    let t = Instant::now();
    while answer("/v1/models/a/labels/canary:predict").is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the label never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(same(
        answer("/v1/models/a/labels/canary:predict"),
        want(&a_models[1])
    ));
    // A broken file changes nothing.
    std::fs::write(&config, "model_config_list { config { name: 'a' }").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(same(answer("/v1/models/b:predict"), want(&b1)));
    // Removing a model from the file stops serving it.
    let only_b = format!(
        "model_config_list {{ config {{ name: 'b' base_path: '{}' }} }}",
        b.display()
    );
    std::fs::write(&config, only_b).unwrap();
    let t = Instant::now();
    while answer("/v1/models/a:predict").is_some() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "model a is still served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(same(answer("/v1/models/b:predict"), want(&b1)));
}
