"""RiskManager: load a trained M-RMS artifact and turn trade qualifications into risk proposals.

A qualification is a trade the decision layer wants to take: the 30-value synergy vector,
the account (a `PropFirmAccount`, an `AccountState`, or its 10-value vector), the entry price,
the direction, the ATR and the instrument. The proposal says how many contracts, where the
stop and the target go (on the tick grid, on the right side), what is at risk, how confident
the network is, and which account rules cut the size.

    rm = RiskManager.load("runs/mrms")
    p = rm.generate_risk_proposal({"synergy_vector": vec, "account": acct, "entry_price": 4500.25,
                                   "direction": "LONG", "atr": 6.0, "instrument": "ES"})
    p.position_size, p.stop_loss_price, p.take_profit_price, p.to_dict()

The engine owns validation, the account rules and placement; the network (`models/mrms.py`)
stays pure. Inference runs a fused NumPy copy of the verified weights on the CPU (checked
against the PyTorch model at load): a call on one row costs microseconds, where eager PyTorch
pays ~10 us of dispatch per layer; on a GPU the PyTorch model runs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from algospace.engines.mrms_rules import (
    CUT_NAMES, CUT_NONE, cap_size, place_levels, risk_per_contract, rooms_from_vector, stop_target_ticks,
)
from algospace.errors import ArtifactError, InputError
from algospace.models.mrms import MRMSModel

log = logging.getLogger(__name__)

QUALIFICATION_FIELDS = ("synergy_vector", "account", "entry_price", "direction", "atr", "instrument")
DIRECTIONS = {"LONG": 1, "SHORT": -1}
_CHUNK = 65_536  # rows per NumPy network call: 8,192-row chunks measured 2x slower (BLAS call overhead), one 200k chunk no faster


@dataclass(frozen=True)
class TradeQualification:
    """One trade to size. `account`: PropFirmAccount, AccountState, or its 10-value vector."""

    synergy_vector: Any
    account: Any
    entry_price: float
    direction: str  # "LONG" or "SHORT"
    atr: float  # in price units, > 0
    instrument: str  # "ES", "MES" or another known instrument


@dataclass(frozen=True)
class RuleCheck:
    """One account rule applied to the proposal: `ok` False when it cut the size."""

    name: str  # max_contracts | daily_loss | max_loss | trading
    ok: bool
    detail: str


@dataclass(frozen=True)
class RiskProposal:
    position_size: int  # contracts after the rule checks (0: do not trade)
    model_size: int  # the network's choice before the rule checks
    direction: str
    instrument: str
    entry_price: float
    stop_loss_price: float  # on the tick grid, below the entry for LONG, above for SHORT
    take_profit_price: float  # on the tick grid, on the other side
    stop_ticks: int
    target_ticks: int
    risk_amount: float  # USD lost at the stop: distance x point value x contracts (before costs)
    reward_amount: float  # USD won at the target, same terms
    risk_reward_ratio: float  # target distance / stop distance as placed
    sl_atr_multiplier: float  # the network's stop multiplier
    confidence: float  # softmax probability of the network's chosen size
    size_cut: bool  # True when a rule reduced the network's size
    size_cut_by: str  # none | max_contracts | daily_loss | max_loss | not_trading
    rule_checks: tuple[RuleCheck, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (rule checks as a list of dicts)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rule_checks"}
        out["rule_checks"] = [asdict(c) for c in self.rule_checks]
        return out


@dataclass(frozen=True)
class ProposalArrays:
    """Proposals for N qualifications as arrays (the batched fast path); fields as in RiskProposal."""

    position_size: np.ndarray  # (N,) int64
    model_size: np.ndarray
    stop_loss_price: np.ndarray  # (N,) float64
    take_profit_price: np.ndarray
    stop_ticks: np.ndarray  # (N,) int64
    target_ticks: np.ndarray
    risk_amount: np.ndarray
    reward_amount: np.ndarray
    risk_reward_ratio: np.ndarray
    sl_atr_multiplier: np.ndarray
    confidence: np.ndarray
    cut: np.ndarray  # (N,) int8 index into CUT_NAMES

    def __len__(self) -> int:
        return len(self.position_size)


class _NumpyMRMS:
    """The three policy heads of MRMSModel in NumPy float32 with the first layers fused (40 -> 256).

    Dropout is inactive at inference, so the heads are plain Linear/ReLU stacks; the value head
    is not needed for a proposal and is skipped.
    """

    def __init__(self, model: MRMSModel) -> None:
        sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
        p, s, t = "position_agent.network.", "stop_loss_agent.network.", "profit_target_agent.network."
        self.w1 = np.ascontiguousarray(np.concatenate([sd[p + "0.weight"], sd[s + "0.weight"], sd[t + "0.weight"]]).T)  # (40, 256)
        self.b1 = np.concatenate([sd[p + "0.bias"], sd[s + "0.bias"], sd[t + "0.bias"]])
        c = model.config
        self.cuts = (c.position_hidden1, c.position_hidden1 + c.bounded_hidden1)
        self.p2, self.pb2 = sd[p + "3.weight"].T.copy(), sd[p + "3.bias"]
        self.p3, self.pb3 = sd[p + "6.weight"].T.copy(), sd[p + "6.bias"]
        self.s2, self.sb2 = sd[s + "3.weight"].T.copy(), sd[s + "3.bias"]
        self.s3, self.sb3 = sd[s + "5.weight"].T.copy(), sd[s + "5.bias"]
        self.t2, self.tb2 = sd[t + "3.weight"].T.copy(), sd[t + "3.bias"]
        self.t3, self.tb3 = sd[t + "5.weight"].T.copy(), sd[t + "5.bias"]
        self.stop_range = (c.stop_multiplier_min, c.stop_multiplier_max)
        self.rr_range = (c.reward_risk_min, c.reward_risk_max)
        # One row: block-diagonal second and third layers, so a call is 3 matmuls, not 7. More
        # FLOPs (zeros), fewer NumPy calls: latency on one row is per-call overhead, not FLOPs.
        self.w2 = _block_diag([self.p2, self.s2, self.t2])  # (256, 128)
        self.b2 = np.concatenate([self.pb2, self.sb2, self.tb2])
        self.w3 = _block_diag([self.p3, self.s3, self.t3])  # (128, n_sizes + 2)
        self.b3 = np.concatenate([self.pb3, self.sb3, self.tb3])

    def one(self, x: np.ndarray) -> tuple[np.ndarray, float, float]:
        """x (1, 40) -> (size logits (n_sizes,), stop multiplier, reward:risk) with the fused weights."""
        h = x @ self.w1
        h += self.b1
        np.maximum(h, 0.0, out=h)
        h = h @ self.w2
        h += self.b2
        np.maximum(h, 0.0, out=h)
        out = (h @ self.w3)[0] + self.b3  # (n_sizes + 2,)
        zs, zt = float(out[-2]), float(out[-1])
        lo, hi = self.stop_range
        stop = lo + (hi - lo) / (1.0 + math.exp(-zs)) if zs > -700 else lo
        lo2, hi2 = self.rr_range
        rr = lo2 + (hi2 - lo2) / (1.0 + math.exp(-zt)) if zt > -700 else lo2
        return out[:-2], stop, rr

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x (N, 40) float32 -> (size logits (N, 6), stop multiplier (N,), reward:risk (N,))."""
        h = x @ self.w1
        h += self.b1
        np.maximum(h, 0.0, out=h)  # (N, 256)
        a, b = self.cuts
        hp = h[:, :a] @ self.p2
        hp += self.pb2
        np.maximum(hp, 0.0, out=hp)
        logits = hp @ self.p3 + self.pb3  # (N, 6)
        hs = h[:, a:b] @ self.s2
        hs += self.sb2
        np.maximum(hs, 0.0, out=hs)
        ht = h[:, b:] @ self.t2
        ht += self.tb2
        np.maximum(ht, 0.0, out=ht)
        zs = ((hs @ self.s3)[:, 0] + self.sb3[0]).astype(np.float64)  # the squash in float64, as in one()
        zt = ((ht @ self.t3)[:, 0] + self.tb3[0]).astype(np.float64)
        lo, hi = self.stop_range
        stop = lo + (hi - lo) / (1.0 + np.exp(-zs))
        lo, hi = self.rr_range
        rr = lo + (hi - lo) / (1.0 + np.exp(-zt))
        return logits, stop, rr


class RiskManager:
    """Trade qualification -> RiskProposal with the trained M-RMS network and the account rules.

    Example:
        >>> rm = RiskManager.load("runs/mrms")
        >>> rm.generate_risk_proposal(q).to_dict()      # one trade
        >>> rm.generate_risk_proposals([q1, q2, ...])   # many, one network call
    """

    def __init__(self, model: MRMSModel, manifest: Any = None, training: Mapping[str, Any] | None = None,
                 device: torch.device | None = None) -> None:
        from algospace.sim import AccountConfig, SimConfig

        self.model = model.eval()
        self.manifest = manifest
        self.training = dict(training or {})
        self.device = device or next(model.parameters()).device
        self.account_config = AccountConfig.model_validate(self.training.get("account", {}))
        self.sim_config = SimConfig.model_validate(self.training.get("sim", {}))
        self._np = _NumpyMRMS(model) if self.device.type == "cpu" else None
        self._inst_cache: dict[str, Any] = {}

    # --- construction -------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, device: str = "auto", allow_untrained: bool = False) -> "RiskManager":
        """Load and verify an M-RMS artifact (kind `mrms`); refuses untrained ones unless asked."""
        from algospace.artifacts import load_artifact

        path = Path(path)
        model, manifest = load_artifact(path, device=device, kind="mrms", allow_untrained=allow_untrained)
        from algospace.artifacts.layout import TRAINING_FILE, read_training

        training = read_training(path)
        if not (path / TRAINING_FILE).exists():
            log.warning("M-RMS artifact %s has no %s: default account rules and costs are assumed", path, TRAINING_FILE)
        from algospace.features.synergy import synergy_vector_fingerprint

        want = training.get("synergy_vector_fingerprint")
        if want is not None and want != synergy_vector_fingerprint():
            raise ArtifactError(
                f"M-RMS artifact {path} was trained on synergy vectors of layout {str(want)[:12]}, but this version "
                f"builds {synergy_vector_fingerprint()[:12]}: its inputs would mean something else. Retrain it."
            )
        rm = cls(model, manifest, training, next(model.parameters()).device)
        if rm._np is not None:
            rm._check_fast_path()
        return rm

    def _check_fast_path(self) -> None:
        """The NumPy copy must agree with the PyTorch model on random inputs (it serves every CPU call)."""
        x = np.random.default_rng(0).normal(size=(64, self.model.config.input_dim)).astype(np.float32)
        logits, stop, rr = self._np(x)  # type: ignore[misc]
        with torch.no_grad():
            k = self.model.config.synergy_dim
            t = torch.from_numpy(x)
            ref = self.model(t[:, :k], t[:, k:])
        ok = (np.allclose(logits, ref.position_logits.numpy(), atol=1e-4) and np.allclose(stop, ref.stop_multiplier.numpy(), atol=1e-4)
              and np.allclose(rr, ref.reward_risk.numpy(), atol=1e-4))
        if not ok:
            raise ArtifactError("M-RMS NumPy inference path disagrees with the PyTorch model; report this as a bug.")

    # --- validation ---------------------------------------------------------------------
    def _instrument(self, name: Any) -> Any:
        from algospace.data import get_instrument

        key = name if isinstance(name, str) else getattr(name, "name", None)
        if key is None:
            raise InputError(f"instrument: expected a name such as 'ES' or 'MES'; received {type(name).__name__} {name!r}.")
        inst = self._inst_cache.get(key)
        if inst is None:
            try:
                inst = get_instrument(name)
            except InputError as exc:
                raise InputError(f"instrument: {exc}") from exc
            self._inst_cache[key] = inst
        return inst

    def _account(self, account: Any) -> tuple[np.ndarray, float, float]:
        """(10-value vector, daily-loss room USD, max-loss room USD) from any accepted account form."""
        from algospace.sim import ACCOUNT_VECTOR_NAMES, AccountState, PropFirmAccount, account_vector

        if isinstance(account, PropFirmAccount):
            room = account.room()
            daily, mloss = (room.daily, room.max_loss) if room.trading else (0.0, 0.0)
            return account.vector(), daily, mloss
        if isinstance(account, AccountState):
            return account_vector(account), account.daily_loss_limit + account.day_pnl, account.balance - account.floor
        vec = _float_array(account, "account", len(ACCOUNT_VECTOR_NAMES))
        for i in (1, 2):
            if not 0.0 <= vec[i] <= 1.0:
                raise InputError(f"account: value {i} ({ACCOUNT_VECTOR_NAMES[i]}) must lie in [0, 1]; received {vec[i]}.")
        c = self.account_config  # the rules in training.json turn the vector's shares into USD
        daily, mloss = rooms_from_vector(vec, c.daily_loss_limit, c.max_loss)
        return vec, float(daily), float(mloss)

    def _validate(self, q: Any) -> tuple[np.ndarray, np.ndarray, float, float, float, int, float, Any]:
        if isinstance(q, TradeQualification):
            get = q.__getattribute__
        elif isinstance(q, Mapping):
            missing = [f for f in QUALIFICATION_FIELDS if f not in q]
            if missing:
                raise InputError(f"{missing[0]}: missing from the qualification; expected the fields {', '.join(QUALIFICATION_FIELDS)}.")
            get = q.__getitem__
        else:
            raise InputError(f"qualification: expected a TradeQualification or a dict; received {type(q).__name__}.")
        syn = _float_array(get("synergy_vector"), "synergy_vector", self.model.config.synergy_dim)
        acc, daily, mloss = self._account(get("account"))
        entry = _positive(get("entry_price"), "entry_price")
        atr = _positive(get("atr"), "atr")
        direction = get("direction")
        d = DIRECTIONS.get(direction.upper()) if isinstance(direction, str) else None
        if d is None:
            raise InputError(f"direction: expected 'LONG' or 'SHORT'; received {direction!r}.")
        return syn, acc, daily, mloss, entry, d, atr, self._instrument(get("instrument"))

    # --- proposals ----------------------------------------------------------------------
    def generate_risk_proposal(self, qualification: TradeQualification | Mapping[str, Any]) -> RiskProposal:
        """One qualification -> RiskProposal. Bad input raises InputError naming the field.

        On the CPU this runs the fused one-row network and the rules on Python floats
        (`scalar_rules`; a test proves it equals the batched path); elsewhere the batched path.
        """
        if self._np is None:
            return self.generate_risk_proposals([qualification])[0]
        syn, acc, daily, mloss, entry, d, atr, inst = self._validate(qualification)
        x = np.concatenate([syn, acc])[None]
        logits, stop_mult, rr = self._np.one(x)
        z = logits - logits.max()
        p = np.exp(z)
        size = int(p.argmax())
        conf = float(p[size] / p.sum())
        return scalar_rules(size, stop_mult, rr, entry, d, atr, inst, daily, mloss, self.account_config.max_contracts,
                            self.sim_config, conf)

    def generate_risk_proposals(self, qualifications: Sequence[TradeQualification | Mapping[str, Any]]) -> list[RiskProposal]:
        """Many qualifications -> proposals, with one network call. A bad one raises InputError
        naming its position and field."""
        n = len(qualifications)
        if n == 0:
            return []
        k = self.model.config.synergy_dim
        x = np.empty((n, self.model.config.input_dim), np.float32)
        cols = np.empty((5, n), np.float64)  # daily room, max-loss room, entry, direction, atr
        insts = []
        for i, q in enumerate(qualifications):
            try:
                syn, acc, daily, mloss, entry, d, atr, inst = self._validate(q)
            except InputError as exc:
                raise (InputError(f"qualification {i}: {exc}") if n > 1 else exc) from None
            x[i, :k], x[i, k:] = syn, acc
            cols[:, i] = (daily, mloss, entry, d, atr)
            insts.append(inst)
        out: list[RiskProposal] = []
        # Rows of one instrument share the tick grid and costs: group them (usually one group).
        for name in dict.fromkeys(inst.name for inst in insts):
            rows = np.fromiter((i for i, inst in enumerate(insts) if inst.name == name), np.int64)
            inst = insts[rows[0]]
            arr = self.propose_arrays(x[rows], cols[2, rows], cols[3, rows], cols[4, rows], inst, cols[0, rows], cols[1, rows])
            for j, i in enumerate(rows):
                out.append((i, _proposal(arr, j, inst, cols[2, i], int(cols[3, i]), cols[0, i], cols[1, i])))  # type: ignore[arg-type]
        return [p for _, p in sorted(out, key=lambda t: t[0])]  # type: ignore[return-value]

    def network(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw heads on (N, 40) float32 inputs -> (size logits, stop multiplier, reward:risk)."""
        if self._np is not None:
            if len(x) <= _CHUNK:
                return self._np(x)
            # Chunks bound the (rows, 256) hidden layer: 65,536 rows = 64 MB, as fast as one huge call.
            parts = [self._np(x[i : i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
            return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]
        k = self.model.config.synergy_dim
        with torch.no_grad():
            t = torch.from_numpy(x).to(self.device)
            o = self.model(t[:, :k], t[:, k:])
        return o.position_logits.cpu().numpy(), o.stop_multiplier.cpu().numpy(), o.reward_risk.cpu().numpy()

    def raw_decision(self, x: np.ndarray) -> tuple[int, float, float]:
        """One (40,) input -> the network's (arg-max size, stop multiplier, reward:risk), before the rules."""
        if self._np is not None:
            logits, stop, rr = self._np.one(np.asarray(x, np.float32)[None])
            return int(logits.argmax()), stop, rr
        logits, stops, rrs = self.network(np.asarray(x, np.float32)[None])
        return int(logits[0].argmax()), float(stops[0]), float(rrs[0])

    def propose_arrays(self, x: np.ndarray, entry: np.ndarray, direction: np.ndarray, atr: np.ndarray, instrument: Any,
                       daily_room: np.ndarray, max_loss_room: np.ndarray) -> ProposalArrays:
        """The batched fast path on already-validated arrays: x (N, 40) float32 = synergy | account
        vector; entry, direction (+1/-1), atr, rooms (USD) (N,). Used by the evaluation and the
        throughput benchmark; `generate_risk_proposals` validates and then calls it."""
        inst = self._instrument(instrument)
        logits, stop_mult, rr = self.network(np.ascontiguousarray(x, dtype=np.float32))
        return apply_rules(logits, stop_mult, rr, entry, direction, atr, inst, daily_room, max_loss_room,
                           self.account_config.max_contracts, self.sim_config)


def apply_rules(logits: np.ndarray, stop_mult: np.ndarray, rr: np.ndarray, entry: np.ndarray, direction: np.ndarray,
                atr: np.ndarray, inst: Any, daily_room: np.ndarray, max_loss_room: np.ndarray, max_contracts: int,
                sim_config: Any) -> ProposalArrays:
    """Network outputs -> proposals: arg-max size, tick distances, the size cut, placed levels."""
    model_size = logits.argmax(-1)
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z)
    confidence = p[np.arange(len(p)), model_size] / p.sum(-1)
    return rule_proposals(model_size, stop_mult, rr, entry, direction, atr, inst, daily_room, max_loss_room,
                          max_contracts, sim_config, confidence)


def rule_proposals(size: np.ndarray, stop_mult: np.ndarray, rr: np.ndarray, entry: np.ndarray, direction: np.ndarray,
                   atr: np.ndarray, inst: Any, daily_room: np.ndarray, max_loss_room: np.ndarray, max_contracts: int,
                   sim_config: Any, confidence: np.ndarray | None = None) -> ProposalArrays:
    """Any strategy's (size, stop multiplier, R:R) -> proposals under the same rules (baselines use this)."""
    stop_t, target_t = stop_target_ticks(stop_mult, rr, atr, inst.tick_size)
    rpc = risk_per_contract(stop_t, inst.tick_value, sim_config.slippage_ticks, sim_config.commission_for(inst.name))
    final, cut = cap_size(size, rpc, daily_room, max_loss_room, max_contracts)
    stop_p, target_p = place_levels(entry, direction, stop_t, target_t, inst.tick_size)
    dist_stop = np.abs(np.asarray(entry, np.float64) - stop_p)
    dist_target = np.abs(target_p - np.asarray(entry, np.float64))
    return ProposalArrays(
        position_size=final, model_size=np.asarray(size, np.int64), stop_loss_price=stop_p, take_profit_price=target_p,
        stop_ticks=stop_t, target_ticks=target_t, risk_amount=np.round(dist_stop * inst.point_value * final, 2),
        reward_amount=np.round(dist_target * inst.point_value * final, 2), risk_reward_ratio=dist_target / dist_stop,
        sl_atr_multiplier=np.asarray(stop_mult, np.float64), confidence=np.ones(len(final)) if confidence is None else confidence,
        cut=cut,
    )


def scalar_size(size: int, stop_mult: float, rr: float, atr: float, inst: Any, daily: float, mloss: float,
                max_contracts: int, sim_config: Any) -> tuple[int, int, int, int]:
    """`mrms_rules` for one row on Python floats -> (final size, stop ticks, target ticks, cut code).

    NumPy calls cost microseconds each on one row, so the single-proposal path and the
    backtests use this; the formulas are `mrms_rules`' line for line, and tests check both agree."""
    tick, tv = inst.tick_size, inst.tick_value
    stop_t = max(1, round(stop_mult * atr / tick))
    target_t = max(1, round(rr * stop_t))
    rpc = (stop_t + sim_config.slippage_ticks) * tv + sim_config.commission_for(inst.name)
    room = min(daily, mloss)
    fit = min(max(math.floor((room - 0.01) / rpc), 0), max_contracts)
    final = min(size, max_contracts, fit)
    cut = CUT_NONE
    if size > max_contracts:
        cut = CUT_NAMES.index("max_contracts")
    if final < min(size, max_contracts):
        cut = CUT_NAMES.index("daily_loss") if daily <= mloss else CUT_NAMES.index("max_loss")
    if room <= 0:
        final = 0
        if size > 0:
            cut = CUT_NAMES.index("not_trading")
    return final, stop_t, target_t, cut


def scalar_rules(size: int, stop_mult: float, rr: float, entry: float, d: int, atr: float, inst: Any, daily: float,
                 mloss: float, max_contracts: int, sim_config: Any, confidence: float) -> RiskProposal:
    """`rule_proposals` for one row on Python floats (see `scalar_size`)."""
    final, stop_t, target_t, cut = scalar_size(size, stop_mult, rr, atr, inst, daily, mloss, max_contracts, sim_config)
    tick = inst.tick_size
    steps_stop = round((entry - d * stop_t * tick) / tick, 9)
    steps_target = round((entry + d * target_t * tick) / tick, 9)
    decimals = max(0, -math.floor(math.log10(tick)) + 2)
    stop_p = round((math.floor(steps_stop) if d > 0 else math.ceil(steps_stop)) * tick, decimals)
    target_p = round((math.ceil(steps_target) if d > 0 else math.floor(steps_target)) * tick, decimals)
    ds, dt = abs(entry - stop_p), abs(target_p - entry)
    a = ProposalArrays(
        position_size=np.array([final]), model_size=np.array([size]), stop_loss_price=np.array([stop_p]),
        take_profit_price=np.array([target_p]), stop_ticks=np.array([stop_t]), target_ticks=np.array([target_t]),
        risk_amount=np.array([round(ds * inst.point_value * final, 2)]), reward_amount=np.array([round(dt * inst.point_value * final, 2)]),
        risk_reward_ratio=np.array([dt / ds]), sl_atr_multiplier=np.array([stop_mult]), confidence=np.array([confidence]),
        cut=np.array([cut], np.int8),
    )
    return _proposal(a, 0, inst, entry, d, daily, mloss)


def _proposal(a: ProposalArrays, j: int, inst: Any, entry: float, d: int, daily: float, mloss: float) -> RiskProposal:
    cut = int(a.cut[j])
    size, model_size = int(a.position_size[j]), int(a.model_size[j])
    checks = (
        RuleCheck("trading", CUT_NAMES[cut] != "not_trading", f"daily-loss room ${daily:,.2f}, max-loss room ${mloss:,.2f}"),
        RuleCheck("max_contracts", CUT_NAMES[cut] != "max_contracts", f"network size {model_size}"),
        RuleCheck("daily_loss", CUT_NAMES[cut] != "daily_loss",
                  f"cut {model_size} -> {size} to keep the loss at the stop below the daily-loss room ${daily:,.2f}"
                  if CUT_NAMES[cut] == "daily_loss" else f"room ${daily:,.2f}"),
        RuleCheck("max_loss", CUT_NAMES[cut] != "max_loss",
                  f"cut {model_size} -> {size} to keep the loss at the stop below the max-loss room ${mloss:,.2f}"
                  if CUT_NAMES[cut] == "max_loss" else f"room ${mloss:,.2f}"),
    )
    return RiskProposal(
        position_size=size, model_size=model_size, direction="LONG" if d > 0 else "SHORT", instrument=inst.name,
        entry_price=float(entry), stop_loss_price=float(a.stop_loss_price[j]), take_profit_price=float(a.take_profit_price[j]),
        stop_ticks=int(a.stop_ticks[j]), target_ticks=int(a.target_ticks[j]), risk_amount=float(a.risk_amount[j]),
        reward_amount=float(a.reward_amount[j]), risk_reward_ratio=float(a.risk_reward_ratio[j]),
        sl_atr_multiplier=float(a.sl_atr_multiplier[j]), confidence=float(a.confidence[j]),
        size_cut=cut != CUT_NONE and size < model_size, size_cut_by=CUT_NAMES[cut], rule_checks=checks,
    )


def _block_diag(blocks: list[np.ndarray]) -> np.ndarray:
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)), np.float32)
    r = c = 0
    for b in blocks:
        out[r : r + b.shape[0], c : c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


def _float_array(value: Any, name: str, length: int) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes, Mapping)):
        raise InputError(f"{name}: expected {length} numbers; received {type(value).__name__}.")
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: expected {length} numbers; received {type(value).__name__} that is not numeric ({exc}).") from None
    if arr.shape != (length,):
        raise InputError(f"{name}: expected {length} values; received shape {arr.shape}.")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InputError(f"{name}: value {bad} is {arr[bad]}; every value must be finite (no NaN/inf).")
    return arr


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name}: expected a number > 0; received {type(value).__name__} {value!r}.")
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name}: expected a finite number > 0; received {v}.")
    return v


__all__ = ["RiskManager", "RiskProposal", "RuleCheck", "TradeQualification", "ProposalArrays", "apply_rules",
           "rule_proposals", "scalar_size", "QUALIFICATION_FIELDS"]
