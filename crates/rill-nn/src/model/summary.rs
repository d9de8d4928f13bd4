use super::graph::Op;
use super::Model;
use crate::error::batch_shape;
use crate::Variable;

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

/// Parameters in `vars` (state such as random streams excluded).
fn params(vars: &[Variable]) -> usize {
    vars.iter()
        .filter(|v| !v.is_state())
        .map(Variable::numel)
        .sum()
}

impl Model {
    /// Keras' summary table: each layer's name and type, output shape and parameter count
    /// (and, for a functional model, what it is connected to), then total, trainable and
    /// non-trainable parameters. A stack not yet built lists its layers without shapes.
    pub fn summary(&self) -> String {
        let functional = !self.sequential;
        let mut widths = vec![33, 24, 15];
        if functional {
            widths.push(24);
        }
        let mut rows: Vec<Vec<String>> = Vec::new();
        match &self.graph {
            Some(g) => {
                for node in &g.nodes {
                    let (kind, count) = match &node.op {
                        Op::Input(_) if !functional => continue,
                        Op::Input(_) => ("InputLayer".to_string(), 0),
                        Op::Layer(l) => (l.kind().to_string(), params(&l.variables())),
                    };
                    let mut cells = vec![
                        format!("{} ({kind})", node.name),
                        batch_shape(&node.shape),
                        thousands(count),
                    ];
                    if functional {
                        let parents: Vec<&str> = node
                            .parents
                            .iter()
                            .map(|&p| g.nodes[p].name.as_str())
                            .collect();
                        cells.push(if parents.is_empty() {
                            "-".into()
                        } else {
                            parents.join(", ")
                        });
                    }
                    rows.push(cells);
                }
            }
            None => {
                for (name, l) in &self.pending {
                    let name = name.clone().unwrap_or_else(|| super::snake_case(l.kind()));
                    rows.push(vec![
                        format!("{name} ({})", l.kind()),
                        "?".into(),
                        "?".into(),
                    ]);
                }
            }
        }
        // Columns widen to their longest cell (a long layer name or kind), as Keras' do.
        for cells in &rows {
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count() + 2);
            }
        }
        let row = |cells: &[&str]| {
            let mut line = String::from("│");
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                // Padded by hand: `format!`'s width stops at 65,535 (and panics past it), and a
                // shape or name read from a file may be longer.
                let pad = " ".repeat((w - 2).saturating_sub(c.chars().count()));
                line += &if i == 2 {
                    format!(" {pad}{c} │")
                } else {
                    format!(" {c}{pad} │")
                };
            }
            line + "\n"
        };
        let rule = |l: &str, m: &str, r: &str, f: &str| {
            let parts: Vec<String> = widths.iter().map(|w| f.repeat(*w)).collect();
            format!("{l}{}{r}\n", parts.join(m))
        };
        let mut s = format!("Model: \"{}\"\n", self.name);
        s += &rule("┏", "┳", "┓", "━");
        let mut head = vec!["Layer (type)", "Output Shape", "Param #"];
        if functional {
            head.push("Connected to");
        }
        s += &row(&head).replace('│', "┃");
        s += &rule("┡", "╇", "┩", "━");
        for (i, cells) in rows.iter().enumerate() {
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            s += &row(&refs);
            if i + 1 < rows.len() {
                s += &rule("├", "┼", "┤", "─");
            }
        }
        s += &rule("└", "┴", "┘", "─");
        let vars = self.variables();
        let total = params(&vars);
        let trainable: usize = vars
            .iter()
            .filter(|v| v.is_trainable())
            .map(Variable::numel)
            .sum();
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
