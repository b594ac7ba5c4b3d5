"""The RDE Transformer-VAE: reference parameter count, padding, windows, a sound ELBO."""

from __future__ import annotations

import torch

from algospace.models.rde import RDEConfig, RegimeVAE, elbo_terms, window_summary

TINY = RDEConfig(input_dim=8, d_model=16, n_heads=2, n_layers=1, d_ff=32, head_hidden=16, decoder_hidden=32, dropout=0.0)


def test_default_encoder_has_reference_parameter_count():
    model = RegimeVAE(RDEConfig())
    assert model.encoder_parameters() == 2_477_072


def test_positional_encoding_is_not_a_weight():
    model = RegimeVAE(RDEConfig())
    assert not any("pe" == k.split(".")[-1] for k in model.state_dict())
    assert model.pos_encoder.pe.shape == (RDEConfig().max_len, 256)


def test_all_supported_window_lengths_give_8d_vectors():
    model = RegimeVAE(RDEConfig()).eval()
    with torch.inference_mode():
        for t in (12, 24, 48, 96):
            mu, log_var = model.encode(torch.randn(2, t, 155))
            assert mu.shape == (2, 8) and log_var.shape == (2, 8)


def test_padding_mask_makes_padded_window_equal_to_short_window():
    torch.manual_seed(0)
    model = RegimeVAE(TINY).eval()
    x = torch.randn(1, 12, 8)
    padded = torch.cat([x, torch.randn(1, 6, 8) * 100], dim=1)
    mask = torch.zeros(1, 18, dtype=torch.bool)
    mask[:, 12:] = True
    with torch.no_grad():
        a, _ = model.encode(x)
        b, _ = model.encode(padded, mask)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert torch.allclose(window_summary(x), window_summary(padded, mask), atol=1e-5)


def _windows(n: int = 256, seed: int = 0) -> torch.Tensor:
    """Windows whose level and spread differ per window: the summary depends on the input."""
    g = torch.Generator().manual_seed(seed)
    level = torch.randn(n, 1, 8, generator=g)
    spread = torch.rand(n, 1, 8, generator=g) * 2 + 0.1
    return level + spread * torch.randn(n, 12, 8, generator=g)


def _train(model: RegimeVAE, x: torch.Tensor, blind: bool, steps: int = 200) -> float:
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        inp = torch.zeros_like(x) if blind else x
        mu, log_var, recon = model(inp)
        loss = torch.nn.functional.mse_loss(recon, window_summary(x))  # target always from the real input
        kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1).mean()
        opt.zero_grad()
        (loss + 1e-3 * kl).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        inp = torch.zeros_like(x) if blind else x
        _, _, recon = model(inp)
        return torch.nn.functional.mse_loss(recon, window_summary(x)).item()


def test_a_model_that_ignores_its_input_scores_worse():
    torch.manual_seed(0)
    x = _windows()
    reading = _train(RegimeVAE(TINY), x, blind=False)
    torch.manual_seed(0)
    ignoring = _train(RegimeVAE(TINY), x, blind=True)
    # The input-blind model can at best predict the mean summary; the reading model must beat it clearly (an 8-d latent cannot carry all 16 summary values, so not perfectly).
    assert reading < 0.7 * ignoring, (reading, ignoring)


def test_elbo_terms_are_finite_and_kl_nonnegative():
    model = RegimeVAE(TINY)
    rec, kl, mu = elbo_terms(model, _windows(16))
    assert torch.isfinite(rec) and torch.isfinite(kl) and kl.item() >= 0
    assert mu.shape == (16, 8)
