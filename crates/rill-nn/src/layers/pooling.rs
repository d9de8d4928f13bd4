use super::Layer;
use crate::{Error, Result};
use rill_core::{DType, Padding, Tensor};

/// Which pooling a window layer does.
#[derive(Debug, Clone, Copy)]
enum Pool {
    Max,
    Average,
}

#[derive(Debug)]
struct Window {
    name: String,
    pool: (usize, usize),
    strides: (usize, usize),
    padding: Padding,
}

impl Window {
    fn new(pool: (usize, usize)) -> Self {
        Window {
            name: String::new(),
            pool,
            strides: pool,
            padding: Padding::Valid,
        }
    }
    fn run(&self, kind: Pool, x: &Tensor) -> Result<Tensor> {
        Ok(match kind {
            Pool::Max => x.max_pool2d(self.pool, self.strides, self.padding)?,
            Pool::Average => x.avg_pool2d(self.pool, self.strides, self.padding)?,
        })
    }
    fn build(&self, kind: Pool, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::Config(format!("{}: 2-D pooling expects per-sample inputs (height, width, channels), found {input_shape:?}", self.name)));
        }
        let probe = Tensor::zeros(
            &[0, input_shape[0], input_shape[1], input_shape[2]],
            DType::F32,
        );
        let out = self
            .run(kind, &probe)
            .map_err(|e| Error::Config(format!("{}: {e}", self.name)))?;
        Ok(out.shape()[1..].to_vec())
    }
}

macro_rules! pooling_layer {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $pool:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(Window);
        impl $name {
            /// A pooling layer with a `pool` window; strides default to the window, padding to valid.
            pub fn new(pool: (usize, usize)) -> Self {
                $name(Window::new(pool))
            }
            /// Sets the strides.
            pub fn strides(mut self, s: (usize, usize)) -> Self {
                self.0.strides = s;
                self
            }
            /// Sets the padding.
            pub fn padding(mut self, p: Padding) -> Self {
                self.0.padding = p;
                self
            }
        }
        impl Layer for $name {
            fn kind(&self) -> &'static str {
                $kind
            }
            fn name(&self) -> &str {
                &self.0.name
            }
            fn set_name(&mut self, name: String) {
                self.0.name = name;
            }
            fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
                self.0.build($pool, input_shape)
            }
            fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
                self.0.run($pool, x)
            }
            fn config(&self) -> Option<serde_json::Value> {
                let w = &self.0;
                Some(serde_json::json!({"name": w.name, "pool_size": [w.pool.0, w.pool.1], "strides": [w.strides.0, w.strides.1], "padding": super::config::padding_name(w.padding)}))
            }
        }
    };
}

pooling_layer!(
    /// Max pooling over NHWC inputs.
    MaxPooling2D,
    "MaxPooling2D",
    Pool::Max
);
pooling_layer!(
    /// Average pooling over NHWC inputs.
    AveragePooling2D,
    "AveragePooling2D",
    Pool::Average
);

/// The mean over height and width: `(None, h, w, c)` → `(None, c)`.
#[derive(Debug, Default)]
pub struct GlobalAveragePooling2D {
    name: String,
}

impl GlobalAveragePooling2D {
    /// A global average pooling layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Layer for GlobalAveragePooling2D {
    fn kind(&self) -> &'static str {
        "GlobalAveragePooling2D"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.len() != 3 {
            return Err(Error::Config(format!(
                "{}: expects per-sample inputs (height, width, channels), found {input_shape:?}",
                self.name
            )));
        }
        Ok(vec![input_shape[2]])
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.mean(&[1, 2], false)?)
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"name": self.name}))
    }
}
