"""GLAD on your own model: wrap any torch optimizer so each step follows the regularized gradient.

Part 1 fits a small classifier to a few noisy examples with plain AdamW and with GLAD around the
same AdamW, and compares their held-out accuracy. Part 2 is the vision-language use: pre-train a tiny
dual encoder on ShapesCLIP captions, then tune LoRA adapters few-shot with and without GLAD.

Run: ``python examples/glad.py`` (needs ``pip install guardopt[vision]``; about 20 s on one core).
"""

from __future__ import annotations

import numpy as np
import torch

from guardopt.optim import GLAD, GLADConfig

torch.set_num_threads(1)


def part1_any_model() -> None:
    """Few-shot classification of 2-D points by a small MLP: plain AdamW vs GLAD(AdamW)."""
    rng = np.random.default_rng(0)

    def data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = rng.normal(size=(n, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR-like quadrants
        return torch.tensor(x + 0.3 * rng.normal(size=x.shape), dtype=torch.float32), torch.tensor(y)

    x_train, y_train = data(32)
    x_test, y_test = data(2000)
    for name, config in (("AdamW", None), ("GLAD(AdamW), rho=0.05, gamma=0.5", GLADConfig(rho=0.05, gamma=0.5))):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
        base = torch.optim.AdamW(net.parameters(), lr=1e-2)
        opt = GLAD(base, config) if config is not None else None

        def closure(net: torch.nn.Module = net) -> torch.Tensor:
            loss = torch.nn.functional.cross_entropy(net(x_train), y_train)
            loss.backward()
            return loss

        for _ in range(300):
            if opt is not None:
                opt.step(closure)  # two forward-backward passes: at θ and at θ + ρ g/‖g‖
            else:
                base.zero_grad()
                closure()
                base.step()
        with torch.no_grad():
            acc = float((net(x_test).argmax(1) == y_test).float().mean())
        print(f"{name:36s} held-out accuracy {acc:.3f}")


def part2_dual_encoder() -> None:
    """Pre-train a tiny dual encoder, then 8-shot LoRA vs LoRA + GLAD on base classes; zero-shot on novel."""
    from guardopt.align.vision import (
        DualEncoderConfig,
        GLADTuningConfig,
        LoRATuningConfig,
        PretrainConfig,
        pretrain,
        tune,
        zero_shot_accuracy,
    )
    from guardopt.problems.shapes_clip import VOCAB, ShapesCLIP, pretraining_pairs

    images, captions = pretraining_pairs(1500, seed=0)
    encoder = DualEncoderConfig(width=16, embed_dim=16, image_channels=(8, 16, 16), vocab=VOCAB)
    model = pretrain(images, captions, PretrainConfig(pairs=1500, steps=150, batch_size=64, lr=1e-2,
                                                      encoder=encoder), seed=0)
    data = ShapesCLIP(seed=0)
    shots, base, novel = data.few_shot(8, seed=1), data.base_test(10, seed=2), data.novel_test(10, seed=3)
    print(f"zero-shot: base {zero_shot_accuracy(model, base):.3f}, novel {zero_shot_accuracy(model, novel):.3f}")
    for config in (LoRATuningConfig(lr=1e-2, epochs=8), GLADTuningConfig(lr=1e-2, epochs=8, rho=0.05, gamma=0.5)):
        tuned = tune(model, shots.images, shots.labels, shots.prompts, config, seed=0)
        print(f"{type(config).__name__:17s} base {zero_shot_accuracy(tuned, base):.3f}, "
              f"novel {zero_shot_accuracy(tuned, novel):.3f}")


if __name__ == "__main__":
    part1_any_model()
    part2_dual_encoder()
