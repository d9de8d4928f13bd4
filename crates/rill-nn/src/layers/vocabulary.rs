//! What the lookup layers share (`StringLookup`, `TextVectorization`): a vocabulary learned from
//! token counts exactly as Keras' `adapt` orders it, the index of each token, and the output
//! modes that turn token indices into model inputs (`int`, `one_hot`, `multi_hot`, `count`,
//! `tf_idf`).

use crate::{Error, Result};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The most tokens a vocabulary may hold (a crafted file's list is refused above it).
pub const MAX_VOCABULARY: usize = 1 << 24;

/// What a lookup layer outputs (Keras' `output_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// One index per token (i64).
    #[default]
    Int,
    /// One row per token with a 1 at its index (f32).
    OneHot,
    /// One row per sample with a 1 at the index of each token present (f32).
    MultiHot,
    /// One row per sample with how often each token occurs (f32).
    Count,
    /// `count × idf` per token, the idf learned by `adapt` (f32).
    TfIdf,
}

impl OutputMode {
    /// Keras' name of the mode (accepting its older spellings `binary` and `tf-idf`).
    pub fn from_keras(name: &str) -> Option<OutputMode> {
        Some(match name {
            "int" => OutputMode::Int,
            "one_hot" => OutputMode::OneHot,
            "multi_hot" | "binary" => OutputMode::MultiHot,
            "count" => OutputMode::Count,
            "tf_idf" | "tf-idf" => OutputMode::TfIdf,
            _ => return None,
        })
    }
    /// Keras' name of the mode.
    pub fn keras_name(self) -> &'static str {
        match self {
            OutputMode::Int => "int",
            OutputMode::OneHot => "one_hot",
            OutputMode::MultiHot => "multi_hot",
            OutputMode::Count => "count",
            OutputMode::TfIdf => "tf_idf",
        }
    }
}

/// A vocabulary learned as Keras' `adapt` learns one, from `documents` of tokens: the tokens
/// ranked most frequent first, ties broken by the token in *descending* order (Keras sorts by
/// (count, token) and reverses: bytes for text, values for integers), at most `keep`, the
/// `special` tokens left out; with `idf`, each token's inverse document frequency.
pub fn learn<K: Ord + std::hash::Hash + Clone>(
    documents: &[Vec<K>],
    special: &[K],
    keep: Option<usize>,
    idf: bool,
) -> (Vec<K>, Option<Vec<f64>>) {
    let mut counts: HashMap<&K, (u64, u64)> = HashMap::new();
    for doc in documents {
        let mut seen = std::collections::HashSet::new();
        for t in doc {
            let entry = counts.entry(t).or_default();
            entry.0 += 1;
            entry.1 += u64::from(seen.insert(t));
        }
    }
    let mut ranked: Vec<(&K, (u64, u64))> = counts
        .into_iter()
        .filter(|(t, _)| !special.contains(t))
        .collect();
    ranked.sort_unstable_by(|(ta, (ca, _)), (tb, (cb, _))| cb.cmp(ca).then_with(|| tb.cmp(ta)));
    ranked.truncate(keep.unwrap_or(usize::MAX));
    let weights = idf.then(|| {
        ranked
            .iter()
            .map(|(_, (_, docs))| inverse_document_frequency(*docs, documents.len() as u64))
            .collect()
    });
    (
        ranked.into_iter().map(|(t, _)| t.clone()).collect(),
        weights,
    )
}

/// Keras' inverse document frequency: `ln(1 + documents / (1 + documents with the token))`.
pub fn inverse_document_frequency(in_documents: u64, documents: u64) -> f64 {
    (1.0 + documents as f64 / (1.0 + in_documents as f64)).ln()
}

/// The learned tokens of a vocabulary the user gave, without the special tokens Keras lets it
/// start with (`["", "[UNK]", "the", …]` is the same vocabulary as `["the", …]`).
pub fn learned_part(layer: &str, tokens: &[String], special: &[&str]) -> Result<Vec<String>> {
    let start = if tokens.len() >= special.len() && tokens.iter().zip(special).all(|(t, s)| t == s)
    {
        special.len()
    } else {
        0
    };
    let learned = &tokens[start..];
    let mut seen = std::collections::HashSet::new();
    for t in learned {
        if special.contains(&t.as_str()) {
            return Err(Error::Config(format!(
                "{layer}: the vocabulary holds the special token {t:?} away from its start"
            )));
        }
        if !seen.insert(t) {
            return Err(Error::Config(format!(
                "{layer}: the vocabulary holds {t:?} twice"
            )));
        }
    }
    Ok(learned.to_vec())
}

/// A vocabulary ready for lookups: special tokens first, then the learned ones.
#[derive(Debug, Clone)]
pub struct Index {
    /// Every token in index order (special tokens included).
    pub tokens: Vec<String>,
    by_token: HashMap<String, i64>,
    /// The index tokens outside the vocabulary get, if there is one.
    pub oov: Option<i64>,
}

impl Index {
    /// An index over `special` then `learned`; `oov` is the position of the OOV token.
    pub fn new(special: &[&str], learned: &[String], oov: Option<i64>) -> Index {
        let tokens: Vec<String> = special
            .iter()
            .map(|s| s.to_string())
            .chain(learned.iter().cloned())
            .collect();
        let by_token = tokens
            .iter()
            .enumerate()
            .rev() // the first of equal tokens wins (an empty learned token never hides the mask)
            .map(|(i, t)| (t.clone(), i as i64))
            .collect();
        Index {
            tokens,
            by_token,
            oov,
        }
    }
    /// The index of `token`: its own, the OOV index, or an error naming `layer` when the
    /// vocabulary has no OOV token.
    pub fn lookup(&self, layer: &str, token: &str) -> Result<i64> {
        match (self.by_token.get(token), self.oov) {
            (Some(&i), _) => Ok(i),
            (None, Some(oov)) => Ok(oov),
            (None, None) => Err(Error::Input(format!(
                "{layer}: {token:?} is not in the vocabulary and the layer has no OOV index (num_oov_indices=0)"
            ))),
        }
    }
    /// How many tokens, special ones included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Each sample's token indices as one row of `depth` values (f32): a 1 where a token occurs
/// (`multi_hot`), how often (`count`), or how often times its `idf` weight (`tf_idf`).
pub fn bag_of_tokens(
    samples: &[Vec<i64>],
    depth: usize,
    mode: OutputMode,
    idf: &[f32],
) -> Result<Tensor> {
    let mut out = vec![0.0f32; samples.len() * depth];
    for (row, ids) in out.chunks_mut(depth.max(1)).zip(samples) {
        for &id in ids {
            let Some(v) = row.get_mut(id as usize) else {
                continue; // the mask token (index outside the bag)
            };
            match mode {
                OutputMode::MultiHot | OutputMode::OneHot => *v = 1.0,
                OutputMode::Count | OutputMode::TfIdf => *v += 1.0,
                OutputMode::Int => {}
            }
        }
        if mode == OutputMode::TfIdf {
            for (v, w) in row.iter_mut().zip(idf) {
                *v *= w;
            }
        }
    }
    Ok(Tensor::from_vec(out, &[samples.len(), depth])?)
}

/// The text of a string tensor, or an error naming `layer` for any other dtype.
pub fn text_of(layer: &str, x: &Tensor) -> Result<Vec<String>> {
    if x.dtype() != DType::Str {
        return Err(Error::Input(format!(
            "{layer}: takes text (strings), found {} values",
            x.dtype()
        )));
    }
    Ok(x.strings()?)
}

/// A built lookup: the index, and for the bag modes the row width and the idf weight of each
/// position.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// Token → index.
    pub index: Index,
    /// The width of a `one_hot`/`multi_hot`/`count`/`tf_idf` row: the vocabulary's size, or
    /// `max_tokens` when padded to it.
    pub depth: usize,
    /// Per position, the weight `tf_idf` multiplies counts by: the learned tokens' own, their
    /// mean for the OOV token (as Keras pads it), 0 for padding.
    pub idf: Vec<f32>,
}

impl Lookup {
    /// The lookup over `special` then `learned`, for `mode`; `idf` is per learned token.
    pub fn new(
        layer: &str,
        special: &[&str],
        learned: &[String],
        oov: Option<i64>,
        mode: OutputMode,
        padded_to: Option<usize>,
        idf: Option<&[f64]>,
    ) -> Result<Lookup> {
        let index = Index::new(special, learned, oov);
        let depth = padded_to.unwrap_or(index.len()).max(index.len());
        let mut weights = Vec::new();
        if mode == OutputMode::TfIdf {
            let idf = idf.ok_or_else(|| {
                Error::Config(format!(
                    "{layer}: output_mode tf_idf needs idf weights: adapt the layer, or give idf_weights with the vocabulary"
                ))
            })?;
            if idf.len() != learned.len() {
                return Err(Error::Config(format!(
                    "{layer}: {} idf weights for {} tokens",
                    idf.len(),
                    learned.len()
                )));
            }
            let mean = idf.iter().sum::<f64>() / idf.len().max(1) as f64;
            weights = special
                .iter()
                .map(|_| mean as f32)
                .chain(idf.iter().map(|&w| w as f32))
                .collect();
            weights.resize(depth, 0.0);
        }
        Ok(Lookup {
            index,
            depth,
            idf: weights,
        })
    }
}

/// What a lookup layer's settings say about its vocabulary, for [`checked_lookup`].
pub struct LookupSettings<'a> {
    /// The layer's kind, for messages.
    pub layer: &'a str,
    /// Its special tokens, in index order.
    pub special: &'a [&'a str],
    /// The index of tokens outside the vocabulary, if they have one.
    pub oov: Option<i64>,
    /// Its output mode.
    pub mode: OutputMode,
    /// Its largest vocabulary, special tokens included.
    pub max_tokens: Option<usize>,
    /// Whether bag rows are as wide as `max_tokens`.
    pub pad_to_max_tokens: bool,
}

/// A built lookup, the learned tokens and their idf weights.
pub type CheckedLookup = (Lookup, Vec<String>, Option<Vec<f64>>);

/// A lookup layer's vocabulary checked against its settings and built: the lookup, the learned
/// tokens (special tokens at the start of a given vocabulary dropped) and their idf weights —
/// or `None` without a vocabulary (the layer is still to be adapted).
pub fn checked_lookup(
    s: &LookupSettings<'_>,
    vocabulary: Option<&[String]>,
    idf: Option<&[f64]>,
) -> Result<Option<CheckedLookup>> {
    let layer = s.layer;
    if s.pad_to_max_tokens && s.max_tokens.is_none() {
        return Err(Error::Config(format!(
            "{layer}: pad_to_max_tokens needs max_tokens"
        )));
    }
    let most = s.max_tokens.unwrap_or(MAX_VOCABULARY);
    if most <= s.special.len() || most > MAX_VOCABULARY {
        return Err(Error::Config(format!(
            "{layer}: max_tokens must lie in {}..={MAX_VOCABULARY}, found {most}",
            s.special.len() + 1
        )));
    }
    let Some(tokens) = vocabulary else {
        return Ok(None);
    };
    let learned = learned_part(layer, tokens, s.special)?;
    if learned.is_empty() {
        return Err(Error::Config(format!(
            "{layer}: the vocabulary is empty (adapt on data that holds some tokens)"
        )));
    }
    let total = learned.len() + s.special.len();
    if total > most {
        return Err(Error::Config(format!(
            "{layer}: a vocabulary of {total} tokens is above max_tokens ({most})"
        )));
    }
    // Weights given with special tokens carry theirs first; keep the learned ones.
    let idf = idf.map(|w| w[w.len().saturating_sub(learned.len())..].to_vec());
    let padded = s.pad_to_max_tokens.then_some(s.max_tokens).flatten();
    let lookup = Lookup::new(
        layer,
        s.special,
        &learned,
        s.oov,
        s.mode,
        padded,
        idf.as_deref(),
    )?;
    Ok(Some((lookup, learned, idf)))
}
