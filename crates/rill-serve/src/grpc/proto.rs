//! The TF Serving messages the gRPC API needs, as prost derives. Field numbers and enum values
//! are those of TensorFlow Serving's `.proto` files (`tensorflow_serving/apis/*.proto`,
//! `tensorflow/core/framework/tensor*.proto`, `types.proto`, `meta_graph.proto`), read off the
//! descriptors of the `tensorflow-serving-api` package; only what Predict, GetModelMetadata
//! and GetModelStatus use.

use std::collections::HashMap;

/// `google.protobuf.Int64Value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64Value {
    /// The value.
    #[prost(int64, tag = "1")]
    pub value: i64,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    /// `type.googleapis.com/<full message name>`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `tensorflow.serving.ModelSpec`. `version` and `version_label` are a oneof on the wire;
/// at most one is set.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelSpec {
    /// The model's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// A version number, when pinned.
    #[prost(message, optional, tag = "2")]
    pub version: Option<Int64Value>,
    /// The signature (only `serving_default`, or empty).
    #[prost(string, tag = "3")]
    pub signature_name: String,
    /// A version label, when pinned by label.
    #[prost(string, tag = "4")]
    pub version_label: String,
}

/// `tensorflow.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dim {
    /// The size; -1 when unknown.
    #[prost(int64, tag = "1")]
    pub size: i64,
    /// An optional name.
    #[prost(string, tag = "2")]
    pub name: String,
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions, outermost first.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
    /// Whether the rank is unknown.
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// `tensorflow.DataType` values Rill reads or writes.
pub mod dtype {
    /// `DT_FLOAT`.
    pub const FLOAT: i32 = 1;
    /// `DT_DOUBLE`.
    pub const DOUBLE: i32 = 2;
    /// `DT_INT32`.
    pub const INT32: i32 = 3;
    /// `DT_UINT8`.
    pub const UINT8: i32 = 4;
    /// `DT_INT16`.
    pub const INT16: i32 = 5;
    /// `DT_INT8`.
    pub const INT8: i32 = 6;
    /// `DT_STRING`.
    pub const STRING: i32 = 7;
    /// `DT_INT64`.
    pub const INT64: i32 = 9;
}

/// `tensorflow.TensorProto`: the values either packed in `tensor_content` (little-endian) or in
/// the typed repeated field.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// A `tensorflow.DataType`.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The shape, batch first.
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// The values as raw little-endian bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    /// `DT_FLOAT` values.
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    /// `DT_DOUBLE` values.
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    /// `DT_INT32`, `DT_INT16`, `DT_INT8` and `DT_UINT8` values.
    #[prost(int32, repeated, tag = "7")]
    pub int_val: Vec<i32>,
    /// `DT_STRING` values, as bytes (Rill reads them as UTF-8 text).
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
    /// `DT_INT64` values.
    #[prost(int64, repeated, tag = "10")]
    pub int64_val: Vec<i64>,
}

/// `tensorflow.serving.PredictRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PredictRequest {
    /// Which model and version.
    #[prost(message, optional, tag = "1")]
    pub model_spec: Option<ModelSpec>,
    /// Input tensors by the signature's input names.
    #[prost(map = "string, message", tag = "2")]
    pub inputs: HashMap<String, TensorProto>,
    /// The outputs wanted (all when empty).
    #[prost(string, repeated, tag = "3")]
    pub output_filter: Vec<String>,
}

/// `tensorflow.serving.PredictResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PredictResponse {
    /// Output tensors by the signature's output names.
    #[prost(map = "string, message", tag = "1")]
    pub outputs: HashMap<String, TensorProto>,
    /// The model and version that answered.
    #[prost(message, optional, tag = "2")]
    pub model_spec: Option<ModelSpec>,
}

/// `tensorflow.TensorInfo` (the dense form).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorInfo {
    /// The tensor's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// A `tensorflow.DataType`.
    #[prost(int32, tag = "2")]
    pub dtype: i32,
    /// The shape, batch first (-1).
    #[prost(message, optional, tag = "3")]
    pub tensor_shape: Option<TensorShapeProto>,
}

/// `tensorflow.SignatureDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignatureDef {
    /// Inputs by name.
    #[prost(map = "string, message", tag = "1")]
    pub inputs: HashMap<String, TensorInfo>,
    /// Outputs by name.
    #[prost(map = "string, message", tag = "2")]
    pub outputs: HashMap<String, TensorInfo>,
    /// `tensorflow/serving/predict`.
    #[prost(string, tag = "3")]
    pub method_name: String,
}

/// `tensorflow.serving.SignatureDefMap`, sent packed in an `Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignatureDefMap {
    /// Signatures by name.
    #[prost(map = "string, message", tag = "1")]
    pub signature_def: HashMap<String, SignatureDef>,
}

/// `tensorflow.serving.GetModelMetadataRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetModelMetadataRequest {
    /// Which model and version.
    #[prost(message, optional, tag = "1")]
    pub model_spec: Option<ModelSpec>,
    /// The fields wanted: `signature_def`.
    #[prost(string, repeated, tag = "2")]
    pub metadata_field: Vec<String>,
}

/// `tensorflow.serving.GetModelMetadataResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetModelMetadataResponse {
    /// The model and version described.
    #[prost(message, optional, tag = "1")]
    pub model_spec: Option<ModelSpec>,
    /// `signature_def` → a packed [`SignatureDefMap`].
    #[prost(map = "string, message", tag = "2")]
    pub metadata: HashMap<String, Any>,
}

/// `tensorflow.serving.GetModelStatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetModelStatusRequest {
    /// Which model; a version narrows the answer to it.
    #[prost(message, optional, tag = "1")]
    pub model_spec: Option<ModelSpec>,
}

/// `tensorflow.serving.StatusProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusProto {
    /// A `tensorflow.error.Code`: 0 OK, 2 UNKNOWN.
    #[prost(int32, tag = "1")]
    pub error_code: i32,
    /// Why, when not OK.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `tensorflow.serving.ModelVersionStatus.State` values.
pub mod state {
    /// Loaded and served.
    pub const AVAILABLE: i32 = 30;
    /// Failed (or unloaded).
    pub const END: i32 = 50;
}

/// `tensorflow.serving.ModelVersionStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelVersionStatus {
    /// The version.
    #[prost(int64, tag = "1")]
    pub version: i64,
    /// One of [`state`].
    #[prost(int32, tag = "2")]
    pub state: i32,
    /// OK, or why it failed.
    #[prost(message, optional, tag = "3")]
    pub status: Option<StatusProto>,
}

/// `tensorflow.serving.GetModelStatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetModelStatusResponse {
    /// Every version asked about.
    #[prost(message, repeated, tag = "1")]
    pub model_version_status: Vec<ModelVersionStatus>,
}
