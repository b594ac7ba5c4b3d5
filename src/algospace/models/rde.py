"""Regime Detection Engine model: a Transformer-VAE over a window of regime features.

A window of T bars x F features (F = 155 from the default FeatureSpec) is projected to
d_model, given sinusoidal positions, encoded by a Transformer, pooled over the valid bars
(`pooling`: the plain mean of the reference, or a read-out that weighs recent bars) and
mapped to the mean and log-variance of an 8-d Gaussian posterior. The posterior mean is the
regime vector.

Why other read-outs: the plain mean gives the bar that just closed the same weight as one 47
bars ago, so the vector lags regime switches and blends neighbouring regimes. Measured
(docs/rde.md): with the window-summary target no read-out helps; with the predictive target
the learned attention read-out is best and fixed recency (last, ewm) hurts, so training
defaults to attention (RDETrainConfig) while this dataclass keeps `mean`, the read-out of
every artifact written before the field existed. The window stays causal either way (it
ends at the current bar); only the read-out of its encoded bars changes.

Why the decoder reconstructs an input summary: the original decoder reconstructed the pooled
context, which an encoder that ignores its input satisfies perfectly (a constant context,
zero KL). Here the decoder must reproduce the per-feature mean and standard deviation of the
input window over time: a summary of *what the window looks like* that no input-blind model
can produce, so the ELBO only rewards encoders that read their input.

Pure nn.Module: no I/O, no device logic, no validation (the engine owns those).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sine/cosine positions, kept as a non-persistent buffer (never saved as a weight)."""

    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe, persistent=False)  # (max_len, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.size(1)]  # (B, T, d_model)


class GaussianHead(nn.Module):
    """An MLP to one posterior parameter (mu or log-variance), as in the reference."""

    def __init__(self, d_model: int, hidden: int, latent_dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, latent_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class SummaryDecoder(nn.Module):
    """Latent -> per-feature (mean, std) of the input window; used in training only."""

    def __init__(self, latent_dim: int, hidden: int, input_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 2 * input_dim)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # (B, 2 * input_dim)


@dataclass(frozen=True)
class RDEConfig:
    input_dim: int = 155  # comes from the FeatureSpec width
    d_model: int = 256
    n_heads: int = 8
    n_layers: int = 3  # the reference used 3 (one spec said 6); 3 reproduces its parameter count
    d_ff: int = 1024
    dropout: float = 0.1
    latent_dim: int = 8
    head_hidden: int = 128
    decoder_hidden: int = 128
    max_len: int = 512  # longest window the positional table covers; T is 12..96 in practice
    min_window: int = 12
    max_window: int = 96
    # Fields added after the first artifacts were written carry `absent_default`: a config.json
    # without them loads with these values, which are the reference's behaviour (same vectors).
    pooling: str = field(default="mean", metadata={"absent_default": True})  # one of POOLINGS
    pool_halflife: float = field(default=8.0, metadata={"absent_default": True})  # bars; pooling="ewm" only


# How the encoded bars (B, T, d_model) become one context vector (B, d_model):
# mean: the plain average (the reference); last: the last valid bar's encoding;
# ewm: exponentially weighted, weight 2^(-age / pool_halflife) for a bar `age` bars before the last;
# attention: a learned score per bar (Linear(d_model -> 1), d_model + 1 parameters), softmax over the bars.
POOLINGS = ("mean", "last", "ewm", "attention")


def window_summary(x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-feature mean and std over the valid bars of each window: the reconstruction target.

    x: (B, T, F); padding_mask: (B, T) bool, True where a position is padding.
    """
    if padding_mask is None:
        mean = x.mean(dim=1)  # (B, F)
        std = x.std(dim=1, unbiased=False)  # (B, F)
    else:
        valid = (~padding_mask).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        count = valid.sum(dim=1).clamp_min(1.0)  # (B, 1)
        mean = (x * valid).sum(dim=1) / count  # (B, F)
        var = (((x - mean.unsqueeze(1)) ** 2) * valid).sum(dim=1) / count
        std = var.sqrt()
    return torch.cat([mean, std], dim=-1)  # (B, 2F)


class RegimeVAE(nn.Module):
    """Transformer-VAE encoder (the inference path) plus a training-only summary decoder."""

    def __init__(self, config: RDEConfig) -> None:
        super().__init__()
        self.config = config
        self.input_projection = nn.Linear(config.input_dim, config.d_model)
        self.pos_encoder = SinusoidalPositionalEncoding(config.d_model, config.max_len)
        self.dropout = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(
            d_model=config.d_model,
            nhead=config.n_heads,
            dim_feedforward=config.d_ff,
            dropout=config.dropout,
            activation="gelu",  # a string keeps PyTorch's fused inference fast path available
            batch_first=True,
        )
        self.transformer = nn.TransformerEncoder(layer, num_layers=config.n_layers, enable_nested_tensor=False)
        if config.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {config.pooling!r}")
        self.pool_score = nn.Linear(config.d_model, 1) if config.pooling == "attention" else None
        self.fc_mu = GaussianHead(config.d_model, config.head_hidden, config.latent_dim, config.dropout)
        self.fc_log_var = GaussianHead(config.d_model, config.head_hidden, config.latent_dim, config.dropout)
        self.decoder = SummaryDecoder(config.latent_dim, config.decoder_hidden, config.input_dim)

    def encoder_parameters(self) -> int:
        """Parameters on the inference path (everything but the decoder)."""
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith("decoder."))

    def context(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled transformer output over the valid bars. x: (B, T, F) -> (B, d_model)."""
        h = self.dropout(self.pos_encoder(self.input_projection(x)))  # (B, T, d_model)
        h = self.transformer(h, src_key_padding_mask=padding_mask)  # (B, T, d_model)
        return self.pool(h, padding_mask)

    def pool(self, h: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encoded bars -> one context per window, by `config.pooling`. h: (B, T, d_model) -> (B, d_model).

        Public so that the engines' fast paths run this same read-out on their own encoder output.
        """
        pooling = self.config.pooling
        if padding_mask is None:
            if pooling == "mean":
                return h.mean(dim=1)  # (B, d_model): the reference's exact op
            if pooling == "last":
                return h[:, -1]  # (B, d_model)
            valid = None
        else:
            valid = (~padding_mask).to(h.dtype)  # (B, T)
            if pooling == "mean":
                v = valid.unsqueeze(-1)
                return (h * v).sum(dim=1) / v.sum(dim=1).clamp_min(1.0)  # (B, d_model)
        if pooling == "attention":
            score = self.pool_score(h).squeeze(-1)  # (B, T)
            if valid is not None:
                score = score.masked_fill(valid == 0, float("-inf"))
            weight = torch.softmax(score, dim=1)  # (B, T)
        else:  # last or ewm: weights by age, counted from the last valid bar
            position = torch.arange(h.size(1), device=h.device, dtype=h.dtype)  # (T,)
            if valid is None:
                age = (h.size(1) - 1 - position).unsqueeze(0)  # (1, T)
            else:  # padding may sit on either side: age counts from each row's last valid bar
                age = ((position * valid).amax(dim=-1, keepdim=True) - position).clamp_min(0)  # (B, T)
            if pooling == "last":
                weight = (age == 0).to(h.dtype)
            else:
                weight = torch.exp(age * (-math.log(2.0) / self.config.pool_halflife))  # 2^(-age/halflife); ONNX has no exp2
            if valid is not None:
                weight = weight * valid
            weight = weight / weight.sum(dim=-1, keepdim=True).clamp_min(1e-12)  # (B, T) or (1, T)
        return torch.einsum("bt,btd->bd", weight.expand(h.size(0), -1), h)  # (B, d_model)

    def regime_vector(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The posterior mean only (B, latent_dim): the inference path, without the log-variance head."""
        return self.fc_mu(self.context(x, padding_mask))

    def encode(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (B, latent_dim)."""
        c = self.context(x, padding_mask)
        return self.fc_mu(c), self.fc_log_var(c)

    def forward(
        self, x: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: (mu, log_var, reconstruction of the window summary)."""
        mu, log_var = self.encode(x, padding_mask)
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)  # reparameterisation
        else:
            z = mu
        return mu, log_var, self.decoder(z)


def elbo_terms(
    model: RegimeVAE, x: torch.Tensor, padding_mask: torch.Tensor | None = None, target: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(reconstruction MSE, KL per sample, posterior mu) for a batch; the loss is recon + beta * KL.

    `target` (B, 2F): what the decoder must produce; by default the window's own summary.
    """
    mu, log_var, recon = model(x, padding_mask)
    if target is None:
        target = window_summary(x, padding_mask)
    rec = F.mse_loss(recon, target, reduction="none").mean(dim=-1)  # (B,)
    kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1)  # (B,)
    return rec.mean(), kl.mean(), mu


def temporal_contrastive(anchor: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """InfoNCE over regime vectors: each anchor's own nearby window against the batch's others.

    anchor, positive: (B, latent), row i of `positive` is a window a few bars after anchor i's;
    the other rows (windows drawn at random times) are its negatives. Similarity is the negative
    squared Euclidean distance, the geometry k-means and the latent filter read the vectors in,
    so the term pulls nearby windows together and pushes distant ones apart in that geometry.
    Symmetric (anchors -> positives and back); a scalar, log(B) for vectors that carry nothing.
    """
    logits = -torch.cdist(anchor, positive).pow(2)  # (B, B)
    labels = torch.arange(len(anchor), device=anchor.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
