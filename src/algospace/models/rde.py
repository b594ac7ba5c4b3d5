"""Regime Detection Engine model: a Transformer-VAE over a window of regime features.

A window of T bars x F features (F = 155 from the default FeatureSpec) is projected to
d_model, given sinusoidal positions, encoded by a Transformer, mean-pooled over the valid
bars and mapped to the mean and log-variance of an 8-d Gaussian posterior. The posterior
mean is the regime vector.

Why the decoder reconstructs an input summary: the original decoder reconstructed the pooled
context, which an encoder that ignores its input satisfies perfectly (a constant context,
zero KL). Here the decoder must reproduce the per-feature mean and standard deviation of the
input window over time: a summary of *what the window looks like* that no input-blind model
can produce, so the ELBO only rewards encoders that read their input.

Pure nn.Module: no I/O, no device logic, no validation (the engine owns those).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
        self.fc_mu = GaussianHead(config.d_model, config.head_hidden, config.latent_dim, config.dropout)
        self.fc_log_var = GaussianHead(config.d_model, config.head_hidden, config.latent_dim, config.dropout)
        self.decoder = SummaryDecoder(config.latent_dim, config.decoder_hidden, config.input_dim)

    def encoder_parameters(self) -> int:
        """Parameters on the inference path (everything but the decoder)."""
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith("decoder."))

    def context(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-pooled transformer output over the valid bars. x: (B, T, F) -> (B, d_model)."""
        h = self.dropout(self.pos_encoder(self.input_projection(x)))  # (B, T, d_model)
        h = self.transformer(h, src_key_padding_mask=padding_mask)  # (B, T, d_model)
        if padding_mask is None:
            return h.mean(dim=1)  # (B, d_model)
        valid = (~padding_mask).unsqueeze(-1).to(h.dtype)  # (B, T, 1)
        return (h * valid).sum(dim=1) / valid.sum(dim=1).clamp_min(1.0)  # (B, d_model)

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
