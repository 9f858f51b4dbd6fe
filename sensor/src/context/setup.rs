//! Building the context stage from `sensor run`'s arguments.

use std::time::Duration;

use tracing::{info, warn};

use super::kubernetes::{PodNames, Source};
use super::{Enricher, EnricherConfig};
use crate::cli::RunArgs;
use crate::time::BootClock;

/// The enricher the arguments describe, with pod names when a Kubernetes source is configured
/// or the sensor runs in a pod. Not seeded yet.
pub fn enricher(args: &RunArgs, clock: BootClock) -> Enricher {
    let config = EnricherConfig {
        max_processes: usize::try_from(args.max_processes).unwrap_or(usize::MAX),
        ancestor_depth: usize::try_from(args.ancestor_depth).unwrap_or(8),
        exited_retention: Duration::from_secs(args.exited_retention_secs),
        proc_root: args.proc_root.clone(),
        host_root: args.host_root.clone(),
    };
    let enricher = Enricher::new(&config, clock);
    let node = args
        .node_name
        .clone()
        .or_else(|| std::env::var("NODE_NAME").ok().filter(|n| !n.is_empty()));
    let source = if let Some(url) = &args.kubelet_url {
        Some(Source {
            url: url.clone(),
            token: None,
            ca: None,
        })
    } else if let Some(path) = &args.kubeconfig {
        match Source::from_kubeconfig(path, node.as_deref()) {
            Ok(source) => Some(source),
            Err(err) => {
                warn!(%err, "pod names unavailable; continuing without them");
                None
            }
        }
    } else {
        Source::in_cluster(node.as_deref())
    };
    match source {
        Some(source) => {
            if node.is_none() && args.kubelet_url.is_none() {
                warn!(
                    "no node name (--node-name or $NODE_NAME from the downward API): the pod \
                     list covers the whole cluster"
                );
            }
            info!(url = %source.url, node = ?node, "fetching pod names");
            enricher.with_pods(PodNames::start(node, source))
        }
        None if node.is_some() => enricher.with_pods(PodNames::new(node)),
        None => enricher,
    }
}
