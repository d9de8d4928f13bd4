//! `TextVectorization`: raw text in, token indices (or a bag of tokens) out, inside the model —
//! as Keras' `layers.TextVectorization`. The vocabulary is learned by [`TextVectorization::adapt`]
//! and kept in the layer's config, so a saved model takes text after loading. No ONNX form:
//! ONNX's string operators (`StringNormalizer`, `Tokenizer`) do not split and look up as Keras
//! does, so an exported model would read text differently.

use super::vocabulary::{
    bag_of_tokens, checked_lookup, learn, text_of, Lookup, LookupSettings, OutputMode,
};
use super::{Configurable, KerasArgs, KerasForm, Layer, LayerExample};
use crate::{Error, Result};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

const KIND: &str = "TextVectorization";
/// Keras' padding token (index 0 in `int` mode) and out-of-vocabulary token.
const MASK: &str = "";
const OOV: &str = "[UNK]";

/// How text is standardized before it is split (Keras' `standardize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standardize {
    /// ASCII letters lower-cased, ASCII punctuation removed (Keras' default).
    LowerAndStripPunctuation,
    /// ASCII letters lower-cased (as `tf.strings.lower` does: other letters stay).
    Lower,
    /// ASCII punctuation removed.
    StripPunctuation,
}

/// How standardized text becomes tokens (Keras' `split`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// At runs of ASCII whitespace (Keras' default).
    Whitespace,
    /// One token per Unicode character.
    Character,
}

/// [`TextVectorization`]'s arguments, with the vocabulary it learned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextVectorizationConfig {
    /// The largest vocabulary, special tokens included (`None`: every token seen).
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// Standardization (`None`: the text as it is).
    #[serde(default = "default_standardize")]
    pub standardize: Option<Standardize>,
    /// Splitting (`None`: each string is one token).
    #[serde(default = "default_split")]
    pub split: Option<Split>,
    /// The n-gram widths to emit (Keras' `ngrams=2` is `[1, 2]`); empty: tokens alone.
    #[serde(default)]
    pub ngrams: Vec<usize>,
    /// What the layer outputs.
    #[serde(default)]
    pub output_mode: OutputMode,
    /// In `int` mode, the length every sequence is padded (with 0) or cut to.
    #[serde(default)]
    pub output_sequence_length: Option<usize>,
    /// In the bag modes, rows as wide as `max_tokens` even when the vocabulary is smaller.
    #[serde(default)]
    pub pad_to_max_tokens: bool,
    /// The learned tokens, most frequent first (special tokens not included).
    #[serde(default)]
    pub vocabulary: Option<Vec<String>>,
    /// For `tf_idf`: each learned token's inverse document frequency.
    #[serde(default)]
    pub idf_weights: Option<Vec<f64>>,
}

fn default_standardize() -> Option<Standardize> {
    Some(Standardize::LowerAndStripPunctuation)
}
fn default_split() -> Option<Split> {
    Some(Split::Whitespace)
}

impl Default for TextVectorizationConfig {
    fn default() -> Self {
        TextVectorizationConfig {
            max_tokens: None,
            standardize: default_standardize(),
            split: default_split(),
            ngrams: Vec::new(),
            output_mode: OutputMode::Int,
            output_sequence_length: None,
            pad_to_max_tokens: false,
            vocabulary: None,
            idf_weights: None,
        }
    }
}

/// Text → tokens → indices, as Keras' `TextVectorization`.
///
/// ```
/// use rill_core::Tensor;
/// use rill_nn::layers::{Layer, TextVectorization};
/// let texts = Tensor::from_strings(vec!["The cat sat.", "the dog"], &[2])?;
/// let mut tv = TextVectorization::new().output_sequence_length(4);
/// tv.adapt(&texts)?;
/// assert_eq!(tv.vocabulary(), ["", "[UNK]", "the", "sat", "dog", "cat"]);
/// let ids = tv.call(&Tensor::from_strings(vec!["the bird sat"], &[1])?, false)?;
/// assert_eq!(ids.to_vec::<i64>()?, [2, 1, 3, 0]);
/// # Ok::<(), rill_nn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TextVectorization {
    config: TextVectorizationConfig,
    lookup: Option<Lookup>,
}

impl Default for TextVectorization {
    fn default() -> Self {
        TextVectorization::new()
    }
}

impl TextVectorization {
    /// Keras' defaults: lower-case, strip punctuation, split at whitespace, `int` output.
    pub fn new() -> Self {
        TextVectorization {
            config: TextVectorizationConfig::default(),
            lookup: None,
        }
    }
    /// At most `n` tokens, the padding and OOV tokens included.
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.config.max_tokens = Some(n);
        self
    }
    /// The standardization (`None`: none).
    pub fn standardize(mut self, s: Option<Standardize>) -> Self {
        self.config.standardize = s;
        self
    }
    /// The splitting (`None`: each string is one token).
    pub fn split(mut self, s: Option<Split>) -> Self {
        self.config.split = s;
        self
    }
    /// Emit n-grams of every width from 1 to `n` (Keras' `ngrams=n`).
    pub fn ngrams(mut self, n: usize) -> Self {
        self.config.ngrams = (1..=n).collect();
        self
    }
    /// The output mode.
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.config.output_mode = mode;
        self
    }
    /// Pad or cut every sequence to `n` tokens (`int` mode).
    pub fn output_sequence_length(mut self, n: usize) -> Self {
        self.config.output_sequence_length = Some(n);
        self
    }
    /// Bag rows as wide as `max_tokens`.
    pub fn pad_to_max_tokens(mut self, on: bool) -> Self {
        self.config.pad_to_max_tokens = on;
        self
    }
    /// Sets the vocabulary (learned tokens, most frequent first; Keras' special tokens at its
    /// start are accepted) and, for `tf_idf`, the weight of each token.
    pub fn set_vocabulary(&mut self, tokens: Vec<String>, idf: Option<Vec<f64>>) -> Result<()> {
        let mut config = self.config.clone();
        config.vocabulary = Some(tokens);
        config.idf_weights = idf;
        *self = TextVectorization::from_config(config)?;
        Ok(())
    }

    /// The vocabulary in index order, special tokens included (Keras' `get_vocabulary()`).
    pub fn vocabulary(&self) -> Vec<String> {
        let learned = self.config.vocabulary.iter().flatten().cloned();
        self.special()
            .iter()
            .map(|s| s.to_string())
            .chain(learned)
            .collect()
    }
    /// How many tokens the vocabulary holds, special tokens included.
    pub fn vocabulary_size(&self) -> usize {
        self.special().len() + self.config.vocabulary.as_ref().map_or(0, Vec::len)
    }

    /// Padding (in `int` mode) and OOV come first, as in Keras.
    fn special(&self) -> &'static [&'static str] {
        match self.config.output_mode {
            OutputMode::Int => &[MASK, OOV],
            _ => &[OOV],
        }
    }

    /// The tokens of one document: standardized, split, n-grams.
    fn tokens(&self, text: &str) -> Vec<String> {
        let c = &self.config;
        let lower = matches!(
            c.standardize,
            Some(Standardize::Lower | Standardize::LowerAndStripPunctuation)
        );
        let strip = matches!(
            c.standardize,
            Some(Standardize::StripPunctuation | Standardize::LowerAndStripPunctuation)
        );
        let text: String = text
            .chars()
            .filter(|ch| !(strip && ch.is_ascii_punctuation()))
            .map(|ch| if lower { ch.to_ascii_lowercase() } else { ch })
            .collect();
        let words: Vec<String> = match c.split {
            // C's isspace, as TensorFlow's whitespace split: Rust's ASCII whitespace and \v.
            Some(Split::Whitespace) => text
                .split(|ch: char| ch.is_ascii_whitespace() || ch == '\x0b')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect(),
            Some(Split::Character) => text.chars().map(String::from).collect(),
            None => vec![text],
        };
        if c.ngrams.is_empty() {
            return words;
        }
        let mut out = Vec::new();
        for &n in &c.ngrams {
            out.extend(words.windows(n.max(1)).map(|w| w.join(" ")));
        }
        out
    }

    fn lookup(&self) -> Result<&Lookup> {
        self.lookup.as_ref().ok_or_else(|| {
            Error::Input(format!(
                "{KIND}: the layer has no vocabulary: adapt it on text first (tv.adapt(&texts)), or give one"
            ))
        })
    }

    /// The per-sample text shape this layer takes: one string per sample, or a column of one.
    fn check_input(&self, shape: &[usize]) -> Result<()> {
        match shape {
            [] | [1] => Ok(()),
            _ => Err(Error::Input(format!(
                "{KIND}: takes one string per sample (shape (batch,) or (batch, 1)), found per-sample shape {shape:?}"
            ))),
        }
    }
}

impl Configurable for TextVectorization {
    const KIND: &'static str = KIND;
    type Config = TextVectorizationConfig;
    fn get_config(&self) -> TextVectorizationConfig {
        self.config.clone()
    }
    fn from_config(config: TextVectorizationConfig) -> Result<Self> {
        if config.ngrams.iter().any(|&n| n == 0 || n > 64) {
            return Err(Error::Config(format!(
                "{KIND}: n-gram widths must lie in 1..=64, found {:?}",
                config.ngrams
            )));
        }
        match (config.output_mode, config.output_sequence_length) {
            (OutputMode::Int, None) => {
                return Err(Error::Config(format!(
                    "{KIND}: in int mode Rill needs output_sequence_length (its tensors have fixed sizes after the batch axis)"
                )))
            }
            (OutputMode::Int, Some(n)) if n == 0 || n > super::MAX_DIM => {
                return Err(Error::Config(format!(
                    "{KIND}: output_sequence_length must lie in 1..={}, found {n}",
                    super::MAX_DIM
                )))
            }
            (OutputMode::Int, _) => {}
            (_, Some(_)) => {
                return Err(Error::Config(format!(
                    "{KIND}: output_sequence_length is for int mode only"
                )))
            }
            (_, None) => {}
        }
        let mut layer = TextVectorization {
            config,
            lookup: None,
        };
        let special = layer.special();
        let c = &layer.config;
        let settings = LookupSettings {
            layer: KIND,
            special,
            oov: Some(special.len() as i64 - 1),
            mode: c.output_mode,
            max_tokens: c.max_tokens,
            pad_to_max_tokens: c.pad_to_max_tokens,
        };
        if let Some((lookup, learned, idf)) =
            checked_lookup(&settings, c.vocabulary.as_deref(), c.idf_weights.as_deref())?
        {
            layer.lookup = Some(lookup);
            layer.config.vocabulary = Some(learned);
            layer.config.idf_weights = idf;
        }
        Ok(layer)
    }
    fn examples() -> Vec<LayerExample<TextVectorizationConfig>> {
        let words = |w: &[&str]| Some(w.iter().map(|s| s.to_string()).collect());
        let int = TextVectorizationConfig {
            output_sequence_length: Some(4),
            vocabulary: words(&["the", "great", "film"]),
            ..Default::default()
        };
        let bigrams = TextVectorizationConfig {
            output_mode: OutputMode::TfIdf,
            ngrams: vec![1, 2],
            vocabulary: words(&["the", "great", "the film", "plot"]),
            idf_weights: Some(vec![0.5, 1.25, 2.0, 0.75]),
            standardize: Some(Standardize::StripPunctuation),
            ..Default::default()
        };
        let sentences = super::SampleValues::Sentences;
        vec![
            LayerExample::new(int, &[1]).values(sentences),
            LayerExample::new(bigrams, &[]).values(sentences),
        ]
    }
}

impl Layer for TextVectorization {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.check_input(input_shape)?;
        let c = &self.config;
        Ok(match c.output_mode {
            OutputMode::Int => vec![c.output_sequence_length.unwrap_or(0)],
            // A bag is as wide as the vocabulary: known once adapted (or padded to max_tokens).
            _ => match (c.pad_to_max_tokens, c.max_tokens) {
                (true, Some(n)) => vec![n],
                _ => vec![self.lookup()?.depth],
            },
        })
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        self.check_input(&x.shape()[1.min(x.rank())..])?;
        let lookup = self.lookup()?;
        let texts = text_of(KIND, x)?;
        let ids = texts
            .iter()
            .map(|t| {
                self.tokens(t)
                    .iter()
                    .map(|w| lookup.index.lookup(KIND, w))
                    .collect::<Result<Vec<i64>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        match self.config.output_mode {
            OutputMode::Int => {
                let len = self.config.output_sequence_length.unwrap_or(0);
                let mut out = vec![0i64; ids.len() * len];
                for (row, seq) in out.chunks_mut(len.max(1)).zip(&ids) {
                    let n = seq.len().min(row.len());
                    row[..n].copy_from_slice(&seq[..n]);
                }
                Ok(Tensor::from_vec(out, &[ids.len(), len])?)
            }
            mode => bag_of_tokens(&ids, lookup.depth, mode, &lookup.idf),
        }
    }
    /// Learns the vocabulary (and the idf weights for `tf_idf`) from `data`, a string tensor
    /// of documents of any shape — Keras' `adapt`.
    fn adapt(&mut self, data: &Tensor) -> Result<()> {
        let documents: Vec<Vec<String>> = text_of(KIND, data)?
            .iter()
            .map(|doc| self.tokens(doc))
            .collect();
        let special: Vec<String> = [MASK, OOV].map(String::from).to_vec();
        let keep = self
            .config
            .max_tokens
            .map(|m| m.saturating_sub(self.special().len()));
        let tf_idf = self.config.output_mode == OutputMode::TfIdf;
        let (learned, idf) = learn(&documents, &special, keep, tf_idf);
        self.set_vocabulary(learned, idf)
    }
    fn input_dtype(&self) -> Option<DType> {
        Some(DType::Str)
    }
}

/// Keras: `keras.layers.TextVectorization`; the vocabulary from the config or, as Keras writes
/// an adapted layer, from `vocabulary.txt` in the layer's assets.
impl KerasForm for TextVectorization {
    fn to_keras(c: &TextVectorizationConfig) -> serde_json::Value {
        let name = |v: Option<&'static str>| v.map_or(serde_json::Value::Null, |s| s.into());
        let ngrams = match c.ngrams.as_slice() {
            [] => serde_json::Value::Null,
            w if w.iter().copied().eq(1..=w.len()) => w.len().into(),
            w => w.into(),
        };
        serde_json::json!({
            "max_tokens": c.max_tokens,
            "standardize": name(c.standardize.map(|s| match s {
                Standardize::LowerAndStripPunctuation => "lower_and_strip_punctuation",
                Standardize::Lower => "lower",
                Standardize::StripPunctuation => "strip_punctuation",
            })),
            "split": name(c.split.map(|s| match s {
                Split::Whitespace => "whitespace",
                Split::Character => "character",
            })),
            "ngrams": ngrams,
            "output_mode": c.output_mode.keras_name(),
            "output_sequence_length": c.output_sequence_length,
            "pad_to_max_tokens": c.pad_to_max_tokens,
            "sparse": false,
            "ragged": false,
            "vocabulary": c.vocabulary,
            "idf_weights": c.idf_weights,
            "encoding": "utf-8",
        })
    }
    /// A `tf_idf` layer's weights per position, where Keras' loader looks for them: in the
    /// layer's `vars` and its inner lookup layer's.
    fn keras_named_values(c: &TextVectorizationConfig) -> super::NamedValues {
        match TextVectorization::from_config(c.clone()).map(|l| l.lookup) {
            Ok(Some(l)) if c.output_mode == OutputMode::TfIdf => ["", "_lookup_layer"]
                .into_iter()
                .map(|p| (p.to_string(), "idf_weights".to_string(), l.idf.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }
    fn from_keras(a: &mut KerasArgs<'_>, _rank: usize) -> Result<TextVectorizationConfig> {
        let function = "a Python function, which Rill cannot run";
        // Absent is Keras' default; null is none.
        let (given_standardize, given_split) = (a.given("standardize"), a.given("split"));
        let standardize = match a.get("standardize") {
            _ if !given_standardize => default_standardize(),
            serde_json::Value::Null => None,
            v => Some(match v.as_str() {
                Some("lower_and_strip_punctuation") => Standardize::LowerAndStripPunctuation,
                Some("lower") => Standardize::Lower,
                Some("strip_punctuation") => Standardize::StripPunctuation,
                _ => return Err(a.bad("standardize", v, function)),
            }),
        };
        let split = match a.get("split") {
            _ if !given_split => default_split(),
            serde_json::Value::Null => None,
            v => Some(match v.as_str() {
                Some("whitespace") => Split::Whitespace,
                Some("character") => Split::Character,
                _ => return Err(a.bad("split", v, function)),
            }),
        };
        let ngrams = match a.get("ngrams") {
            serde_json::Value::Null => Vec::new(),
            v => match (v.as_u64(), serde_json::from_value::<Vec<usize>>(v.clone())) {
                (Some(n), _) => (1..=n.min(65) as usize).collect(),
                (None, Ok(widths)) => widths,
                (None, Err(_)) => {
                    return Err(a.bad("ngrams", v, "an integer or a list of integers"))
                }
            },
        };
        let mode = a.get("output_mode");
        let output_mode = OutputMode::from_keras(mode.as_str().unwrap_or("int"))
            .ok_or_else(|| a.bad("output_mode", mode, "int, multi_hot, count or tf_idf"))?;
        for flag in ["sparse", "ragged"] {
            let v = a.get(flag);
            if v.as_bool() == Some(true) {
                return Err(a.bad(flag, v, "Rill's tensors are dense"));
            }
        }
        let encoding = a.get("encoding");
        if !matches!(encoding.as_str(), None | Some("utf-8" | "UTF-8")) {
            return Err(a.bad("encoding", encoding, "Rill reads UTF-8 text only"));
        }
        a.get("vocabulary_size");
        let vocabulary: Option<Vec<String>> = match a.get("vocabulary") {
            serde_json::Value::Null => a
                .asset_text("vocabulary.txt")
                .map(|text| keras_vocabulary_file(&text)),
            v => Some(
                serde_json::from_value(v.clone())
                    .map_err(|_| a.bad("vocabulary", v, "a list of strings"))?,
            ),
        };
        Ok(TextVectorizationConfig {
            max_tokens: a.value("max_tokens", None)?,
            standardize,
            split,
            ngrams,
            output_mode,
            output_sequence_length: a.value("output_sequence_length", None)?,
            pad_to_max_tokens: a.value("pad_to_max_tokens", false)?,
            vocabulary,
            idf_weights: a.value("idf_weights", None)?,
        })
    }
}

/// The tokens of Keras' `vocabulary.txt`: one per line, trailing empty lines dropped (the
/// first line is the padding token, the empty string).
pub fn keras_vocabulary_file(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}
