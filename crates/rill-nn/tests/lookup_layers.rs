//! StringLookup and TextVectorization beyond the Keras fixtures: inverting indices, one-hot
//! rows, and the clear errors a user meets (no vocabulary, an empty one, unknown tokens with
//! no OOV index, numbers where text goes).

use rill_core::{DType, Tensor};
use rill_nn::layers::{
    Configurable, Layer, OutputMode, StringLookup, StringLookupConfig, TextVectorization,
};

fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

#[test]
fn string_lookup_inverts_and_one_hots_as_keras() {
    let forward = StringLookup::with_config(StringLookupConfig {
        mask_token: Some(String::new()),
        vocabulary: Some(words(&["a", "b", "c"])),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(forward.vocabulary(), ["", "[UNK]", "a", "b", "c"]);
    let x = Tensor::from_strings(vec!["c", "", "zzz", "a"], &[2, 2]).unwrap();
    let ids = forward.call(&x, false).unwrap();
    assert_eq!(ids.to_vec::<i64>().unwrap(), [4, 0, 1, 2]);
    let inverse = StringLookup::with_config(StringLookupConfig {
        invert: true,
        ..forward.get_config()
    })
    .unwrap();
    assert_eq!(inverse.input_dtype(), None);
    let back = inverse.call(&ids, false).unwrap();
    assert_eq!(back.strings().unwrap(), ["c", "", "[UNK]", "a"]);
    assert_eq!(
        inverse
            .call(&Tensor::from_vec(vec![9i64], &[1]).unwrap(), false)
            .unwrap()
            .strings()
            .unwrap(),
        ["[UNK]"]
    );
    let one_hot = StringLookup::with_config(StringLookupConfig {
        output_mode: OutputMode::OneHot,
        vocabulary: Some(words(&["a", "b"])),
        ..Default::default()
    })
    .unwrap();
    let y = one_hot
        .call(
            &Tensor::from_strings(vec!["b", "q"], &[2, 1]).unwrap(),
            false,
        )
        .unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(y.to_vec::<f32>().unwrap(), [0., 0., 1., 1., 0., 0.]);
}

#[test]
fn lookups_refuse_what_they_cannot_do_with_a_message_naming_the_layer() {
    let text = Tensor::from_strings(vec!["x"], &[1, 1]).unwrap();
    let unadapted = TextVectorization::new().output_sequence_length(3);
    let err = unadapted.call(&text, false).unwrap_err().to_string();
    assert!(
        err.contains("TextVectorization") && err.contains("adapt"),
        "{err}"
    );

    let mut tv = TextVectorization::new().output_sequence_length(3);
    let err = tv
        .adapt(&Tensor::from_strings(vec!["...", "!!"], &[2]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TextVectorization: the vocabulary is empty"),
        "{err}"
    );

    let numbers = Tensor::zeros(&[1, 1], DType::F32);
    let mut lookup = StringLookup::new();
    lookup
        .adapt(&Tensor::from_strings(vec!["a"], &[1]).unwrap())
        .unwrap();
    let err = lookup.call(&numbers, false).unwrap_err().to_string();
    assert!(
        err.contains("StringLookup: takes text (strings), found f32"),
        "{err}"
    );

    let strict = StringLookup::with_config(StringLookupConfig {
        num_oov_indices: 0,
        vocabulary: Some(words(&["a"])),
        ..Default::default()
    })
    .unwrap();
    let err = strict
        .call(&Tensor::from_strings(vec!["b"], &[1]).unwrap(), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"b\" is not in the vocabulary"), "{err}");

    let err = TextVectorization::from_config(rill_nn::layers::TextVectorizationConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("output_sequence_length"), "{err}");
    let err = StringLookup::with_config(StringLookupConfig {
        vocabulary: Some(words(&["a", "a"])),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("holds \"a\" twice"), "{err}");
}

#[test]
fn integer_lookup_ranks_ties_by_value_and_learns_keras_idf() {
    use rill_nn::layers::{IntegerLookup, IntegerLookupConfig};
    // Keras 3.15 on the same ids: [-1, 9, 100, 10, 2, -3] (ties by value, descending).
    let mut lookup = IntegerLookup::new();
    let ids = Tensor::from_vec(vec![9i64, 10, 100, 9, -3, 2], &[6]).unwrap();
    lookup.adapt(&ids).unwrap();
    assert_eq!(lookup.vocabulary(), [-1, 9, 100, 10, 2, -3]);
    // Keras: max_tokens=3, tf_idf on rows [[9, 10], [100, 9], [10, 10]] → [-1, 10, 9] and idf
    // ln(1 + 3 / 3) for each (the OOV's is their mean).
    let mut tf_idf = IntegerLookup::with_config(IntegerLookupConfig {
        max_tokens: Some(3),
        output_mode: OutputMode::TfIdf,
        ..Default::default()
    })
    .unwrap();
    let rows = Tensor::from_vec(vec![9i64, 10, 100, 9, 10, 10], &[3, 2]).unwrap();
    tf_idf.adapt(&rows).unwrap();
    assert_eq!(tf_idf.vocabulary(), [-1, 10, 9]);
    let out = tf_idf
        .call(&Tensor::from_vec(vec![10i64, 10], &[1, 2]).unwrap(), false)
        .unwrap();
    let ln2 = 2f32.ln();
    assert_eq!(out.to_vec::<f32>().unwrap(), [0.0, 2.0 * ln2, 0.0]);
    let err = lookup
        .call(&Tensor::from_vec(vec![1.5f32], &[1]).unwrap(), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("IntegerLookup: takes whole numbers, found 1.5"),
        "{err}"
    );
}
