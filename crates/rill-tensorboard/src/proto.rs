//! The few protobuf messages of TensorBoard's event files, encoded by hand: `Event`,
//! `Summary` and its `Value`s (a scalar, a histogram, an image, a tensor with plugin
//! metadata). Field numbers are those of TensorBoard's `event.proto`, `summary.proto` and
//! `tensor.proto`; only what Rill writes is here.

/// Wire types of the protobuf encoding.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH: u32 = 2;
const FIXED32: u32 = 5;

/// A message being encoded, field by field.
#[derive(Debug, Default, Clone)]
pub struct Message(Vec<u8>);

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Message::default()
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }
    /// An integer field (int32, int64, enum, bool).
    pub fn int(mut self, field: u32, v: i64) -> Self {
        self.key(field, VARINT);
        self.varint(v as u64);
        self
    }
    /// A `double` field.
    pub fn double(mut self, field: u32, v: f64) -> Self {
        self.key(field, FIXED64);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A `float` field.
    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A `bytes` or `string` field.
    pub fn bytes(mut self, field: u32, v: &[u8]) -> Self {
        self.key(field, LENGTH);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }
    /// An embedded message.
    pub fn message(self, field: u32, m: &Message) -> Self {
        self.bytes(field, &m.0)
    }
    /// A packed `repeated double` field.
    pub fn packed_doubles(self, field: u32, vs: &[f64]) -> Self {
        let packed: Vec<u8> = vs.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(field, &packed)
    }
    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// `Event` (event.proto): when, at which step, and what.
pub mod event {
    /// `double wall_time = 1`
    pub const WALL_TIME: u32 = 1;
    /// `int64 step = 2`
    pub const STEP: u32 = 2;
    /// `string file_version = 3`
    pub const FILE_VERSION: u32 = 3;
    /// `Summary summary = 5`
    pub const SUMMARY: u32 = 5;
}

/// `Summary` (summary.proto) and its nested `Value` and `Image`.
pub mod summary {
    /// `repeated Value value = 1`
    pub const VALUE: u32 = 1;
    /// `Summary.Value` fields.
    pub mod value {
        /// `string tag = 1`
        pub const TAG: u32 = 1;
        /// `float simple_value = 2`
        pub const SIMPLE_VALUE: u32 = 2;
        /// `Image image = 4`
        pub const IMAGE: u32 = 4;
        /// `HistogramProto histo = 5`
        pub const HISTO: u32 = 5;
        /// `TensorProto tensor = 8`
        pub const TENSOR: u32 = 8;
        /// `SummaryMetadata metadata = 9`
        pub const METADATA: u32 = 9;
    }
    /// `Summary.Image` fields.
    pub mod image {
        /// `int32 height = 1`
        pub const HEIGHT: u32 = 1;
        /// `int32 width = 2`
        pub const WIDTH: u32 = 2;
        /// `int32 colorspace = 3` (1 = grayscale)
        pub const COLORSPACE: u32 = 3;
        /// `bytes encoded_image_string = 4` (PNG)
        pub const ENCODED: u32 = 4;
    }
}

/// `HistogramProto` (summary.proto).
pub mod histogram {
    /// `double min = 1`
    pub const MIN: u32 = 1;
    /// `double max = 2`
    pub const MAX: u32 = 2;
    /// `double num = 3`
    pub const NUM: u32 = 3;
    /// `double sum = 4`
    pub const SUM: u32 = 4;
    /// `double sum_squares = 5`
    pub const SUM_SQUARES: u32 = 5;
    /// `repeated double bucket_limit = 6 [packed]`
    pub const BUCKET_LIMIT: u32 = 6;
    /// `repeated double bucket = 7 [packed]`
    pub const BUCKET: u32 = 7;
}

/// `SummaryMetadata` (summary.proto) and its `PluginData`.
pub mod metadata {
    /// `PluginData plugin_data = 1`
    pub const PLUGIN_DATA: u32 = 1;
    /// `string PluginData.plugin_name = 1`
    pub const PLUGIN_NAME: u32 = 1;
    /// `bytes PluginData.content = 2`
    pub const CONTENT: u32 = 2;
}

/// `TensorProto` (tensor.proto).
pub mod tensor {
    /// `DataType dtype = 1`
    pub const DTYPE: u32 = 1;
    /// `TensorShapeProto tensor_shape = 2`
    pub const SHAPE: u32 = 2;
    /// `repeated bytes string_val = 8`
    pub const STRING_VAL: u32 = 8;
    /// `DT_STRING` in types.proto.
    pub const DT_STRING: i64 = 7;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_encode_as_the_protobuf_spec_says() {
        // The spec's own example: field 1 = 150 is 08 96 01.
        assert_eq!(Message::new().int(1, 150).into_bytes(), [0x08, 0x96, 0x01]);
        // A string field: key (2 << 3 | 2), length, bytes.
        assert_eq!(
            Message::new().bytes(2, b"testing").into_bytes()[..2],
            [0x12, 7]
        );
        let d = Message::new().double(1, 1.5).into_bytes();
        assert_eq!(d[0], 0x09);
        assert_eq!(&d[1..], 1.5f64.to_le_bytes());
    }
}
