//! `model.weights.h5`: Keras keeps each layer's variables as datasets `0`, `1`, … in a group
//! `layers/<key>/vars`, where `<key>` is the layer's class name in snake case, numbered in
//! model order (`dense`, `dense_1`, …), and the `vars` group carries the layer's name as an
//! attribute. A layer that holds a cell or layers keeps theirs deeper, under the path its
//! [`KerasForm`](rill_nn::layers::KerasForm) names (`layers/lstm/cell/vars`,
//! `layers/bidirectional/forward_layer/cell/vars`). Read and written with the pure-Rust
//! `hdf5-pure`.

use crate::error::{format, Result};
use hdf5_pure::{AttrValue, File, FileBuilder, GroupBuilder};
use rill_core::Tensor;
use std::collections::{BTreeMap, HashMap};

/// The most values one weight may hold (1 Gi): a crafted shape cannot ask for more.
const MAX_VALUES: u64 = 1 << 30;

/// Keras' `to_snake_case`: `Conv2D` → `conv2d`, `BatchNormalization` → `batch_normalization`,
/// `ReLU` → `re_lu`.
pub(crate) fn snake_case(name: &str) -> String {
    let c: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for i in 0..c.len() {
        // "(.)([A-Z][a-z]+)" → "\1_\2", then "([a-z])([A-Z])" → "\1_\2".
        let upper_then_lower =
            c[i].is_ascii_uppercase() && c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let after_lower = i > 0 && c[i - 1].is_ascii_lowercase() && c[i].is_ascii_uppercase();
        if i > 0 && (upper_then_lower || after_lower) && !out.ends_with('_') {
            out.push('_');
        }
        out.push(c[i]);
    }
    out.to_lowercase()
}

/// Keras' group keys for a model's layers, handed out in model order: the snake-cased class,
/// numbered from the second of a kind (`dense`, `dense_1`, …).
#[derive(Default)]
pub(crate) struct Keys(HashMap<String, usize>);

impl Keys {
    /// The key of the next layer of `class`.
    pub fn next(&mut self, class: &str) -> String {
        let base = snake_case(class);
        let n = self.0.entry(base.clone()).or_insert(0);
        let key = if *n == 0 { base } else { format!("{base}_{n}") };
        *n += 1;
        key
    }
}

/// One layer's variables by the path of their `vars` group below the layer's own group (`""`
/// for the layer's own `vars`, `"cell"` for an LSTM's).
pub(crate) type LayerVars = BTreeMap<String, Vec<Tensor>>;

/// The weights of one layer, keyed both ways Keras marks them.
#[derive(Default)]
pub(crate) struct Weights {
    /// By the layer name stored in each layer's own `vars` group's `name` attribute.
    by_name: HashMap<String, LayerVars>,
    /// By group key (`dense_1`).
    by_key: HashMap<String, LayerVars>,
    /// The weights of nested models' layers (`layers/<key>/layers/…`), by the model's key.
    nested: HashMap<String, Weights>,
}

impl Weights {
    /// Values stored in the file: what building the model it belongs to may allocate.
    pub fn total_values(&self) -> usize {
        let own: usize = self
            .by_key
            .values()
            .flat_map(|groups| groups.values().flatten())
            .map(Tensor::numel)
            .sum();
        own + self
            .nested
            .values()
            .map(Weights::total_values)
            .sum::<usize>()
    }

    /// The weights of the layers of the nested model stored under `key`.
    pub fn take_nested(&mut self, key: &str) -> Weights {
        self.nested.remove(key).unwrap_or_default()
    }

    /// The variables of a layer: by its name when the file records names, else by its key.
    pub fn take(&mut self, name: &str, key: &str) -> Option<LayerVars> {
        self.by_name
            .remove(name)
            .or_else(|| self.by_key.remove(key))
    }
}

fn attr_string(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::String(s) | AttrValue::AsciiString(s) => Some(s.clone()),
        AttrValue::StringSized { value, .. } => Some(value.clone()),
        AttrValue::AsciiStringSized { value, .. } => Some(value.clone()),
        _ => None,
    }
}

fn h5(e: hdf5_pure::Error) -> crate::Error {
    format(format!("model.weights.h5: {e}"))
}

/// Reads every layer's variables.
pub(crate) fn read(bytes: Vec<u8>) -> Result<Weights> {
    let file = File::from_bytes(bytes).map_err(h5)?;
    read_layers(&file, "layers", 0)
}

/// How deep models may nest in a file (a crafted file cannot recurse without end).
const MAX_NESTING: usize = 16;

/// The variables of the layers under the group `prefix`, and of nested models' layers.
fn read_layers(file: &File, prefix: &str, depth: usize) -> Result<Weights> {
    let mut weights = Weights::default();
    let layers = match file.group(prefix) {
        Ok(g) => g.groups().map_err(h5)?,
        Err(_) => return Ok(weights), // a model without layers holding weights
    };
    if depth > MAX_NESTING {
        return Err(format(format!(
            "{prefix}: models nested more than {MAX_NESTING} deep"
        )));
    }
    for key in layers {
        let inner = format!("{prefix}/{key}/layers");
        if file.group(&inner).is_ok() {
            let nested = read_layers(file, &inner, depth + 1)?;
            weights.nested.insert(key.clone(), nested);
        }
        let mut groups = LayerVars::new();
        read_var_groups(file, &format!("{prefix}/{key}"), "", &mut groups)?;
        if groups.is_empty() {
            continue;
        }
        let vars_path = format!("{prefix}/{key}/vars");
        if let Ok(vars) = file.group(&vars_path) {
            if let Some(name) = vars.attrs().map_err(h5)?.get("name").and_then(attr_string) {
                weights.by_name.insert(name, groups.clone());
            }
        }
        weights.by_key.insert(key, groups);
    }
    Ok(weights)
}

/// How deep below a layer's group its cells' and inner layers' `vars` may be
/// (`forward_layer/cell` is two).
const MAX_VAR_DEPTH: usize = 3;

/// Reads the `vars` group of `{group}` into `out[at]`, and those of its subgroups (but a
/// nested model's `layers`) under their paths.
fn read_var_groups(file: &File, group: &str, at: &str, out: &mut LayerVars) -> Result<()> {
    let vars_path = format!("{group}/vars");
    if let Ok(vars) = file.group(&vars_path) {
        out.insert(at.to_string(), read_vars(file, &vars, &vars_path)?);
    }
    if at.split('/').count() >= MAX_VAR_DEPTH {
        return Ok(());
    }
    let Ok(g) = file.group(group) else {
        return Ok(());
    };
    for sub in g.groups().map_err(h5)? {
        if sub == "vars" || (at.is_empty() && sub == "layers") {
            continue;
        }
        let path = if at.is_empty() {
            sub.clone()
        } else {
            format!("{at}/{sub}")
        };
        read_var_groups(file, &format!("{group}/{sub}"), &path, out)?;
    }
    Ok(())
}

/// The named datasets Keras writes beside numbered weights.
const KNOWN_NAMED: &[&str] = &["idf_weights"];

/// The datasets `0`, `1`, … of one `vars` group, each checked before it is read.
fn read_vars(file: &File, vars: &hdf5_pure::Group, vars_path: &str) -> Result<Vec<Tensor>> {
    let mut names = vars.datasets().map_err(h5)?;
    // Values Keras keeps by name (a tf_idf lookup's `idf_weights`) are not weights; the
    // layer's config carries what it needs of them.
    names.retain(|n| !KNOWN_NAMED.contains(&n.as_str()));
    names.sort_by_key(|n| n.parse::<usize>().unwrap_or(usize::MAX));
    let mut tensors = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if n.parse::<usize>() != Ok(i) {
            return Err(format(format!(
                "{vars_path}: variables are not numbered 0, 1, …: found '{n}'"
            )));
        }
        let ds = file.dataset(&format!("{vars_path}/{n}")).map_err(h5)?;
        let shape = ds.shape().map_err(h5)?;
        let count = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .filter(|&c| c <= MAX_VALUES);
        let Some(count) = count else {
            return Err(format(format!(
                "{vars_path}/{n}: shape {shape:?} is too large"
            )));
        };
        let values = ds.read_f32().map_err(h5)?;
        if values.len() as u64 != count {
            return Err(format(format!(
                "{vars_path}/{n}: {} values for shape {shape:?}",
                values.len()
            )));
        }
        let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        tensors.push(Tensor::from_vec(values, &dims)?);
    }
    Ok(tensors)
}

/// One layer's variables to write.
pub(crate) struct LayerWeights {
    /// The group under `layers/`: `dense_1`, or `sequential/layers/dense` for a layer of a
    /// nested model (whose own, empty, entry is `sequential`).
    pub key: String,
    pub name: String,
    /// The variables by the path of their `vars` group below the layer's (`""`: its own).
    pub groups: Vec<(String, Vec<Tensor>)>,
    /// Values Keras keeps by name in a `vars` group: (group path, name, values).
    pub named: rill_nn::layers::NamedValues,
}

/// The groups to write under one `layers` group: each layer's variables and, for a nested
/// model, its own layers.
#[derive(Default)]
struct LayerTree<'a> {
    vars: Option<&'a LayerWeights>,
    layers: BTreeMap<String, LayerTree<'a>>,
}

impl<'a> LayerTree<'a> {
    fn insert(&mut self, path: &str, weights: &'a LayerWeights) {
        match path.split_once("/layers/") {
            Some((first, rest)) => self
                .layers
                .entry(first.to_string())
                .or_default()
                .insert(rest, weights),
            None => self.layers.entry(path.to_string()).or_default().vars = Some(weights),
        }
    }

    /// Writes `<key>/vars/<i>` for each layer here (an empty `vars` group for layers without
    /// weights, as Keras writes), a cell's or inner layer's `<key>/<path>/vars/<i>` (with an
    /// empty `vars` at each level, as Keras writes), and `<key>/layers/…` for a nested model's
    /// layers.
    fn write(&self, parent: &mut GroupBuilder) -> Result<()> {
        for (key, node) in &self.layers {
            let mut layer = parent.create_group(key);
            let mut own = VarTree::default();
            if let Some(l) = node.vars {
                own.name = Some(l.name.clone());
                for (path, values) in &l.groups {
                    own.insert(path, values);
                }
                for (path, name, values) in &l.named {
                    own.insert_named(path, name, values);
                }
            }
            own.write_into(&mut layer)?;
            if !node.layers.is_empty() {
                let mut inner = layer.create_group("layers");
                node.write(&mut inner)?;
                layer.add_group(inner.finish());
            }
            parent.add_group(layer.finish());
        }
        Ok(())
    }
}

/// One layer's `vars` groups, nested by path.
#[derive(Default)]
struct VarTree<'a> {
    name: Option<String>,
    values: Option<&'a [Tensor]>,
    named: Vec<(&'a str, &'a [f32])>,
    below: BTreeMap<String, VarTree<'a>>,
}

impl<'a> VarTree<'a> {
    fn insert(&mut self, path: &str, values: &'a [Tensor]) {
        match path.split_once('/') {
            _ if path.is_empty() => self.values = Some(values),
            Some((first, rest)) => self
                .below
                .entry(first.into())
                .or_default()
                .insert(rest, values),
            None => self.below.entry(path.into()).or_default().values = Some(values),
        }
    }

    fn insert_named(&mut self, path: &str, name: &'a str, values: &'a [f32]) {
        match path.split_once('/') {
            _ if path.is_empty() => self.named.push((name, values)),
            Some((first, rest)) => self
                .below
                .entry(first.into())
                .or_default()
                .insert_named(rest, name, values),
            None => self
                .below
                .entry(path.into())
                .or_default()
                .named
                .push((name, values)),
        }
    }

    /// `vars` (named when known) and the groups below, into `group`.
    fn write_into(&self, group: &mut GroupBuilder) -> Result<()> {
        let mut vars = group.create_group("vars");
        if let Some(name) = &self.name {
            vars.set_attr("name", AttrValue::String(name.clone()));
        }
        for (i, t) in self.values.unwrap_or_default().iter().enumerate() {
            let values: Vec<f32> = t.to_dtype(rill_core::DType::F32)?.to_vec()?;
            let shape: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
            vars.create_dataset(&i.to_string())
                .with_f32_data(&values)
                .with_shape(&shape);
        }
        for (name, values) in &self.named {
            vars.create_dataset(name)
                .with_f32_data(values)
                .with_shape(&[values.len() as u64]);
        }
        group.add_group(vars.finish());
        for (key, tree) in &self.below {
            let mut sub = group.create_group(key);
            tree.write_into(&mut sub)?;
            group.add_group(sub.finish());
        }
        Ok(())
    }
}

/// Writes the weights file: every layer's group under `layers`, and the model's own empty
/// `vars`.
pub(crate) fn write(model_name: &str, layers: &[LayerWeights]) -> Result<Vec<u8>> {
    let mut tree = LayerTree::default();
    for l in layers {
        tree.insert(&l.key, l);
    }
    let mut file = FileBuilder::new();
    let mut all = file.create_group("layers");
    tree.write(&mut all)?;
    file.add_group(all.finish());
    let mut vars = file.create_group("vars");
    vars.set_attr("name", AttrValue::String(model_name.to_string()));
    file.add_group(vars.finish());
    file.finish()
        .map_err(|e| format(format!("writing model.weights.h5: {e}")))
}
