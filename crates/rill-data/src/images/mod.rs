//! PNG and JPEG files into tensors, and folders of class folders into a labelled dataset
//! (Keras' `image_dataset_from_directory`).

mod decode;
mod resize;

use crate::{Error, Result};
use rill_core::Tensor;
use std::path::{Path, PathBuf};

/// The channels an image is loaded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorMode {
    /// One channel.
    Grayscale,
    /// Three channels.
    #[default]
    Rgb,
}

impl ColorMode {
    fn channels(self) -> usize {
        match self {
            ColorMode::Grayscale => 1,
            ColorMode::Rgb => 3,
        }
    }
}

/// Decodes image bytes (PNG or JPEG) to u8 `[height, width, channels]`, resized to `size`
/// (height, width) with bilinear filtering when given. Gray from colour takes the Rec. 709
/// luma; an alpha channel is dropped. Pictures over 64 megapixels are refused.
pub fn decode_image(
    bytes: &[u8],
    mode: ColorMode,
    size: Option<(usize, usize)>,
) -> std::result::Result<Tensor, String> {
    if let Some((h, w)) = size {
        if h == 0 || w == 0 || h.saturating_mul(w) > decode::MAX_PIXELS {
            return Err(format!("cannot resize to {h}x{w}"));
        }
    }
    let img =
        decode::decode(bytes).map_err(|e| format!("not a readable PNG or JPEG image: {e}"))?;
    let (mut h, mut w, c) = (img.height, img.width, mode.channels());
    let mut data = img.into_channels(c);
    if let Some((th, tw)) = size {
        if (th, tw) != (h, w) {
            data = resize::resize(&data, (h, w, c), (th, tw));
            (h, w) = (th, tw);
        }
    }
    Tensor::from_vec(data, &[h, w, c]).map_err(|e| e.to_string())
}

/// Loads a PNG or JPEG file as u8 `[height, width, channels]`.
pub fn load_image(
    path: impl AsRef<Path>,
    mode: ColorMode,
    size: Option<(usize, usize)>,
) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_image(&bytes, mode, size).map_err(|m| Error::format(path, m))
}

/// Images from a folder of class folders: `root/<class>/<image>`.
#[derive(Debug, Clone)]
pub struct ImageFolder {
    /// u8 `[N, height, width, channels]`.
    pub images: Tensor,
    /// i64 `[N]`, the index of each image's class in `class_names`.
    pub labels: Tensor,
    /// Class folder names, sorted.
    pub class_names: Vec<String>,
    /// The file behind each image.
    pub paths: Vec<PathBuf>,
}

fn is_image(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("png" | "jpg" | "jpeg")
    )
}

/// Loads every PNG and JPEG under `root/<class>/`, resized to `size`, labelled by its folder
/// in alphabetical order (as Keras does).
pub fn image_dataset_from_directory(
    root: impl AsRef<Path>,
    mode: ColorMode,
    size: (usize, usize),
) -> Result<ImageFolder> {
    let root = root.as_ref();
    let read_dir = |d: &Path| -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| Error::io(d, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    let classes: Vec<PathBuf> = read_dir(root)?.into_iter().filter(|p| p.is_dir()).collect();
    if classes.is_empty() {
        return Err(Error::format(
            root,
            "expected one sub-folder per class, found none",
        ));
    }
    let mut images = Vec::new();
    let (mut labels, mut paths) = (Vec::new(), Vec::new());
    for (label, dir) in classes.iter().enumerate() {
        for file in read_dir(dir)?.into_iter().filter(|p| is_image(p)) {
            images.push(load_image(&file, mode, Some(size))?);
            labels.push(label as i64);
            paths.push(file);
        }
    }
    if images.is_empty() {
        return Err(Error::format(
            root,
            "no PNG or JPEG files in its class folders",
        ));
    }
    let n = labels.len();
    Ok(ImageFolder {
        images: Tensor::stack(&images, 0)?,
        labels: Tensor::from_vec(labels, &[n])?,
        class_names: classes
            .iter()
            .map(|c| {
                c.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        paths,
    })
}
