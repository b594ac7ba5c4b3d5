"""The original M-RMS's checkpoint keys: the same names as ours; only the sizes are inferred."""

from __future__ import annotations

import torch

from algospace.artifacts.legacy import Imported, fresh_model, load_mapped, register_legacy_importer
from algospace.errors import ArtifactError
from algospace.models.mrms import MRMSConfig, MRMSModel

def _import_mrms(sd: dict[str, torch.Tensor]) -> Imported:
    # The original's names are ours (module names were chosen to match); only shapes are inferred.
    try:
        h1, n_in = sd["position_agent.network.0.weight"].shape
        h2 = sd["position_agent.network.3.weight"].shape[0]
        n_sizes = sd["position_agent.network.6.weight"].shape[0]
        b1 = sd["stop_loss_agent.network.0.weight"].shape[0]
        b2 = sd["stop_loss_agent.network.3.weight"].shape[0]
        vh = sd["value_head.0.weight"].shape[0]
    except (KeyError, ValueError) as exc:
        raise ArtifactError(f"The legacy M-RMS checkpoint lacks {exc} needed to infer its architecture.") from exc
    defaults = MRMSConfig()
    if n_in != defaults.input_dim:
        raise ArtifactError(
            f"The legacy M-RMS checkpoint takes {n_in} inputs; the original took {defaults.input_dim} "
            f"(synergy {defaults.synergy_dim} + account {defaults.account_dim}) and no other split is known."
        )
    config = MRMSConfig(position_hidden1=int(h1), position_hidden2=int(h2), n_sizes=int(n_sizes),
                        bounded_hidden1=int(b1), bounded_hidden2=int(b2), value_hidden=int(vh))
    model = fresh_model(lambda: MRMSModel(config))
    load_mapped(model, dict(sd), allow_missing=set(), what="M-RMS")
    notes = [f"input split synergy {config.synergy_dim} + account {config.account_dim} as in the original."]
    return Imported(model, [], [], notes)


register_legacy_importer(
    "mrms", _import_mrms, key_prefixes=("position_agent.", "stop_loss_agent.", "profit_target_agent.")
)
