//! Models: [`Sequential`] and its trainer (`compile`, `fit`, `evaluate`, `predict`).

mod batches;
mod config;
mod fit_config;
mod functional;
mod history;
mod progress;
mod sequential;
mod summary;
mod training;

pub use batches::{Batches, InputBatches};
pub use fit_config::FitConfig;
pub use functional::{Functional, FunctionalBuilder, Node};
pub use history::{History, Logs};
pub use progress::Verbosity;
pub(crate) use sequential::unique_name;
pub use sequential::Sequential;
