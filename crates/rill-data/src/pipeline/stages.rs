use super::dataset::{Element, Stream};
use crate::{Error, Result};
use rayon::prelude::*;
use rill_core::{Generator, Tensor};
use std::sync::{mpsc, Arc, Mutex};

pub(crate) fn shuffle(mut s: Stream, buffer_size: usize, seed: u64) -> Stream {
    let mut rng = Generator::new(seed);
    let mut buf: Vec<Result<Element>> = Vec::with_capacity(buffer_size.min(1 << 16));
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        while !done && buf.len() < buffer_size {
            match s.next() {
                Some(e) => buf.push(e),
                None => done = true,
            }
        }
        if buf.is_empty() {
            return None;
        }
        let i = rng.below(buf.len());
        Some(buf.swap_remove(i))
    }))
}

pub(crate) fn batch(mut s: Stream, n: usize, drop_remainder: bool) -> Stream {
    Box::new(std::iter::from_fn(move || {
        let mut items = Vec::with_capacity(n);
        for e in s.by_ref() {
            match e {
                Ok(e) => items.push(e),
                Err(err) => return Some(Err(err)),
            }
            if items.len() == n {
                break;
            }
        }
        if items.is_empty() || (drop_remainder && items.len() < n) {
            return None;
        }
        let parts = items[0].len();
        let stacked = (0..parts)
            .map(|p| {
                let column: Vec<Tensor> = items.iter().map(|e| e[p].clone()).collect();
                Tensor::stack(&column, 0)
                    .map_err(|e| Error::Pipeline(format!("batch: elements differ in shape: {e}")))
            })
            .collect();
        Some(stacked)
    }))
}

/// Elements mapped per round: enough to keep every core busy, few enough to stay responsive.
const MAP_ROUND: usize = 64;

/// Applies `f` to every element and its index in the pass, a round at a time on all cores,
/// keeping the order.
pub(crate) fn parallel_map(
    s: Stream,
    f: Arc<dyn Fn(u64, Element) -> Result<Element> + Send + Sync>,
) -> Stream {
    let mut s = s.enumerate();
    let mut ready: std::collections::VecDeque<Result<Element>> = Default::default();
    Box::new(std::iter::from_fn(move || {
        if ready.is_empty() {
            let round: Vec<(usize, Result<Element>)> = s.by_ref().take(MAP_ROUND).collect();
            ready = round
                .into_par_iter()
                .map(|(i, e)| e.and_then(|e| f(i as u64, e)))
                .collect::<Vec<_>>()
                .into();
        }
        ready.pop_front()
    }))
}

pub(crate) fn prefetch(s: Stream, buffer: usize) -> Stream {
    let (tx, rx) = mpsc::sync_channel(buffer);
    std::thread::spawn(move || {
        for e in s {
            // The consumer hung up (e.g. `take` ended early): stop producing.
            if tx.send(e).is_err() {
                break;
            }
        }
    });
    Box::new(rx.into_iter())
}

pub(crate) fn cache(s: Stream, store: Arc<Mutex<Option<Arc<Vec<Element>>>>>) -> Stream {
    if let Some(all) = store.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Box::new((0..all.len()).map(move |i| Ok(all[i].clone())));
    }
    let mut seen = Vec::new();
    let mut s = s;
    Box::new(std::iter::from_fn(move || match s.next() {
        Some(Ok(e)) => {
            seen.push(e.clone());
            Some(Ok(e))
        }
        Some(Err(err)) => Some(Err(err)),
        None => {
            // A pass completed: from now on, replay it.
            let mut slot = store.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_none() {
                *slot = Some(Arc::new(std::mem::take(&mut seen)));
            }
            None
        }
    }))
}
