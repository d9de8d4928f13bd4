//! The demo page at `GET /`, in a real headless browser (Debian's Chromium, which `tools/test`
//! installs): the page's self-test draws a stroke and drops a PNG as a user would, and both
//! get the model's top classes, by the names its file records, from the running server.

use rill_core::set_seed;
use rill_nn::prelude::*;
use rill_serve::{ModelSet, ModelSource, ModelStore, ServerConfig};
use serde_json::Value;
use std::sync::Arc;

fn chromium() -> String {
    std::env::var("RILL_TEST_CHROMIUM").unwrap_or_else(|_| {
        panic!(
            "RILL_TEST_CHROMIUM is not set: run the tests with tools/test, which installs Chromium"
        )
    })
}

#[test]
fn a_drawn_and_a_dropped_image_get_named_top_classes_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    set_seed(5);
    let model = Sequential::new(vec![
        Box::new(Flatten::new()) as Box<dyn Layer>,
        Box::new(Dense::new(10)),
        Box::new(Softmax::new()),
    ])
    .with_input_shape(&[28, 28])
    .unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("kind <{i}>")).collect();
    std::fs::create_dir_all(dir.path().join("1")).unwrap();
    rill_io::save_model_with_classes(&model, Some(&names), dir.path().join("1/model.rill"))
        .unwrap();
    let store =
        ModelStore::open("garments", ModelSource::BasePath(dir.path().to_path_buf())).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(rill_serve::serve(
        listener,
        Arc::new(ModelSet::single(Arc::new(store))),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));

    // The page itself: the model inlined, with no way for its names to end the script.
    let page = ureq::get(&url).call().unwrap();
    let csp = page.headers().get("content-security-policy").unwrap();
    assert!(csp.to_str().unwrap().contains("default-src 'self'"));
    let html = page.into_body().read_to_string().unwrap();
    assert!(html.contains(r#""name":"garments""#), "the model is listed");
    assert!(
        html.contains(r"kind \u003c3>"),
        "names are escaped inside the script"
    );

    // Headless Chromium stops at the end of its virtual-time budget, and virtual time does not
    // wait for work off the main thread (decoding the dropped image): on a loaded machine the
    // DOM is sometimes dumped before the self-test ends. A page that never finishes fails all
    // three attempts.
    let run_selftest = || {
        let out = std::process::Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--virtual-time-budget=30000",
                "--dump-dom",
            ])
            .arg(format!("{url}?selftest"))
            .output()
            .expect("Chromium runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut dom = String::new();
    for _ in 0..3 {
        dom = run_selftest();
        if dom.contains("<pre id=\"selftest\">") {
            break;
        }
    }
    let log = dom
        .split("<pre id=\"selftest\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("the self-test did not finish in three runs: {dom:.2000}"));
    // The DOM dump escapes the JSON's text as HTML.
    let log: Value = serde_json::from_str(
        &log.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
    .unwrap();
    for how in ["drawn", "dropped"] {
        let top = log[how]
            .as_array()
            .unwrap_or_else(|| panic!("{how}: {log}"));
        assert_eq!(top.len(), 5, "{how}: {log}");
        let probs: Vec<f64> = top.iter().map(|t| t[1].as_f64().unwrap()).collect();
        assert!(
            probs.windows(2).all(|w| w[0] >= w[1]),
            "{how}: sorted, {log}"
        );
        assert!(probs.iter().sum::<f64>() <= 1.0 + 1e-6);
        for t in top {
            assert!(
                names.contains(&t[0].as_str().unwrap().to_string()),
                "{how}: {t}"
            );
        }
    }
    // The two inputs differ, and so do their answers.
    assert_ne!(log["drawn"], log["dropped"]);
    let _ = stop.send(());
    rt.block_on(server).unwrap().unwrap();
}
