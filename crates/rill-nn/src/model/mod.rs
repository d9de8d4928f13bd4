//! Models: [`Sequential`] and its trainer (`compile`, `fit`, `evaluate`, `predict`).

mod batches;
mod fit_config;
mod history;
mod progress;
mod sequential;
mod summary;
mod training;

pub use batches::Batches;
pub use fit_config::FitConfig;
pub use history::{History, Logs};
pub use progress::Verbosity;
pub use sequential::Sequential;
