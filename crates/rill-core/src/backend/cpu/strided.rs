use crate::layout::Layout;

/// Copies the elements a layout selects, in row-major order, into a new packed vector.
pub fn gather_strided<T: Copy>(all: &[T], layout: &Layout) -> Vec<T> {
    let n = layout.numel();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let shape = layout.shape();
    let strides = layout.strides();
    if shape.is_empty() {
        out.push(all[layout.offset()]);
        return out;
    }
    let rank = shape.len();
    let inner = shape[rank - 1];
    let inner_stride = strides[rank - 1];
    let outer_layout = Layout::from_parts(
        shape[..rank - 1].to_vec(),
        strides[..rank - 1].to_vec(),
        layout.offset(),
    );
    for start in outer_layout.indices() {
        if inner_stride == 1 {
            out.extend_from_slice(&all[start..start + inner]);
        } else {
            out.extend((0..inner).map(|i| all[start + i * inner_stride]));
        }
    }
    out
}
