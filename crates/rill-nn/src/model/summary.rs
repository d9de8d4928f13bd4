use super::Sequential;
use crate::error::batch_shape;

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: usize) -> String {
    let b = (n * 4) as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.2} MB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.2} KB", b / 1024.0)
    } else {
        format!("{b:.2} B")
    }
}

impl Sequential {
    /// Keras' summary table: each layer's name and type, output shape and parameter count, then
    /// total, trainable and non-trainable parameters. Empty of shapes until built.
    pub fn summary(&self) -> String {
        let (w1, w2, w3) = (33, 24, 15);
        let row = |a: &str, b: &str, c: &str| {
            format!(
                "│ {a:<w1$} │ {b:<w2$} │ {c:>w3$} │\n",
                w1 = w1 - 2,
                w2 = w2 - 2,
                w3 = w3 - 2
            )
        };
        let rule = |l: &str, m: &str, r: &str, f: &str| {
            format!(
                "{l}{}{m}{}{m}{}{r}\n",
                f.repeat(w1),
                f.repeat(w2),
                f.repeat(w3)
            )
        };
        let mut s = format!("Model: \"{}\"\n", self.name);
        s += &rule("┏", "┳", "┓", "━");
        s += &format!(
            "┃ {:<w1$} ┃ {:<w2$} ┃ {:>w3$} ┃\n",
            "Layer (type)",
            "Output Shape",
            "Param #",
            w1 = w1 - 2,
            w2 = w2 - 2,
            w3 = w3 - 2
        );
        s += &rule("┡", "╇", "┩", "━");
        for (i, layer) in self.layers.iter().enumerate() {
            let shape = self
                .output_shapes
                .get(i)
                .map(|s| batch_shape(s))
                .unwrap_or_else(|| "?".into());
            let params: usize = layer
                .variables()
                .iter()
                .filter(|v| !v.is_state)
                .map(|v| v.numel())
                .sum();
            s += &row(
                &format!("{} ({})", layer.name(), layer.kind()),
                &shape,
                &thousands(params),
            );
            if i + 1 < self.layers.len() {
                s += &rule("├", "┼", "┤", "─");
            }
        }
        s += &rule("└", "┴", "┘", "─");
        let vars: Vec<_> = self
            .variables()
            .into_iter()
            .filter(|v| !v.is_state)
            .collect();
        let total: usize = vars.iter().map(|v| v.numel()).sum();
        let trainable: usize = vars.iter().filter(|v| v.trainable).map(|v| v.numel()).sum();
        s += &format!(" Total params: {} ({})\n", thousands(total), bytes(total));
        s += &format!(
            " Trainable params: {} ({})\n",
            thousands(trainable),
            bytes(trainable)
        );
        s += &format!(
            " Non-trainable params: {} ({})\n",
            thousands(total - trainable),
            bytes(total - trainable)
        );
        s
    }
}
