use super::download::fetch_verified;
use super::{Split, Splits};
use crate::idx::read_idx;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A dataset in the four-file IDX layout of MNIST.
#[derive(Debug, Clone, Copy)]
pub struct IdxDataset {
    /// Folder name, e.g. `fashion-mnist`.
    pub name: &'static str,
    /// Where the official files can be downloaded (ends with `/`); `None` when no verified
    /// checksums are known, so the dataset must be provided locally.
    pub base_url: Option<&'static str>,
    /// `(file name, SHA-256)` of train images, train labels, test images, test labels.
    pub files: [(&'static str, &'static str); 4],
    /// Class names by label.
    pub class_names: &'static [&'static str],
}

/// Where to look for a dataset.
#[derive(Debug, Clone, Default)]
pub struct DataSource {
    explicit: Option<PathBuf>,
}

impl DataSource {
    /// The standard search order (see the module documentation).
    pub fn standard() -> Self {
        DataSource::default()
    }
    /// Look in `dir` (holding the dataset's files directly) and nowhere else.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        DataSource {
            explicit: Some(dir.into()),
        }
    }

    /// The folders searched for `name`, in order (without the download step).
    pub fn candidates(&self, name: &str) -> Vec<PathBuf> {
        if let Some(d) = &self.explicit {
            return vec![d.clone()];
        }
        let mut dirs = Vec::new();
        if let Some(d) = std::env::var_os("RILL_DATA_DIR") {
            dirs.push(PathBuf::from(d).join(name));
        }
        dirs.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../data")
                .join(name),
        );
        if let Some(c) = cache_dir() {
            dirs.push(c.join(name));
        }
        dirs.push(Path::new("/usr/share/datasets").join(name));
        dirs
    }

    /// Loads `dataset`, downloading it into the cache when no folder holds it.
    pub fn load(&self, dataset: &IdxDataset) -> Result<Splits> {
        let dir = match self.find(dataset) {
            Some(d) => d,
            None if self.explicit.is_some() => {
                return Err(Error::NotFound(format!(
                    "{}: the files {} are not all in {}",
                    dataset.name,
                    file_list(dataset),
                    self.candidates(dataset.name)[0].display()
                )))
            }
            None => self.download(dataset)?,
        };
        load_from(&dir, dataset)
    }

    fn find(&self, dataset: &IdxDataset) -> Option<PathBuf> {
        self.candidates(dataset.name)
            .into_iter()
            .find(|d| dataset.files.iter().all(|(f, _)| resolve(d, f).is_some()))
    }

    fn download(&self, dataset: &IdxDataset) -> Result<PathBuf> {
        let searched: Vec<String> = self
            .candidates(dataset.name)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let base = std::env::var("RILL_DATASETS_URL")
            .ok()
            .map(|u| format!("{}/{}/", u.trim_end_matches('/'), dataset.name))
            .or(dataset.base_url.map(String::from));
        let Some(base) = base else {
            return Err(Error::NotFound(format!(
                "{}: not found in {} and no verified download is known; put {} in one of those folders",
                dataset.name,
                searched.join(", "),
                file_list(dataset)
            )));
        };
        let dir = cache_dir()
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "{}: not found in {}, and there is no home folder to download into",
                    dataset.name,
                    searched.join(", ")
                ))
            })?
            .join(dataset.name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        for (file, sha) in dataset.files {
            let target = dir.join(file);
            if !target.exists() {
                fetch_verified(&format!("{base}{file}"), sha, &target)?;
            }
        }
        Ok(dir)
    }
}

fn file_list(d: &IdxDataset) -> String {
    d.files
        .iter()
        .map(|(f, _)| *f)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The user cache folder for datasets: `$XDG_CACHE_HOME/rill/datasets` or `~/.cache/rill/datasets`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|c| c.join("rill").join("datasets"))
}

/// The file `name` (usually `…-ubyte.gz`) in `dir`, or its un-gzipped twin.
fn resolve(dir: &Path, name: &str) -> Option<PathBuf> {
    let p = dir.join(name);
    if p.is_file() {
        return Some(p);
    }
    let raw = dir.join(name.trim_end_matches(".gz"));
    raw.is_file().then_some(raw)
}

fn load_from(dir: &Path, d: &IdxDataset) -> Result<Splits> {
    let read = |i: usize| -> Result<(rill_core::Tensor, PathBuf)> {
        let p = resolve(dir, d.files[i].0).ok_or_else(|| {
            Error::NotFound(format!("{}: missing {}", dir.display(), d.files[i].0))
        })?;
        Ok((read_idx(&p)?, p))
    };
    let split = |img: usize, lab: usize| -> Result<Split> {
        let (images, ip) = read(img)?;
        let (labels, lp) = read(lab)?;
        if images.rank() != 3 || images.dtype() != rill_core::DType::U8 {
            return Err(Error::format(
                &ip,
                format!(
                    "expected u8 images of rank 3, found {} {:?}",
                    images.dtype(),
                    images.shape()
                ),
            ));
        }
        if labels.rank() != 1 || labels.dtype() != rill_core::DType::U8 {
            return Err(Error::format(
                &lp,
                format!(
                    "expected u8 labels of rank 1, found {} {:?}",
                    labels.dtype(),
                    labels.shape()
                ),
            ));
        }
        if images.shape()[0] != labels.shape()[0] {
            return Err(Error::format(
                &lp,
                format!(
                    "{} holds {} images but this file holds {} labels",
                    ip.display(),
                    images.shape()[0],
                    labels.shape()[0]
                ),
            ));
        }
        let classes = d.class_names.len();
        if let Some(bad) = labels
            .data::<u8>()?
            .iter()
            .find(|&&l| l as usize >= classes)
        {
            return Err(Error::format(
                &lp,
                format!("label {bad} is outside the dataset's {classes} classes"),
            ));
        }
        Ok(Split { images, labels })
    };
    Ok(Splits {
        train: split(0, 1)?,
        test: split(2, 3)?,
        class_names: d.class_names.iter().map(|s| s.to_string()).collect(),
    })
}
