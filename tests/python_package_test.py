"""The Python package `fernn` as users meet it: the numpy API, errors as Python exceptions (spec
errors with their file and JSON path), the torch module inside ordinary PyTorch code
(torch.optim, no_grad, eval, several graphs alive, state_dict round trips), and the safetensors
reader on hostile files (every mutation of a valid file either loads or raises InputError)."""
import os
import random
import struct
import sys
import tempfile
import unittest

import numpy as np
import torch

import fernn
import fernn.torch

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(SOURCE, "tests", "specs", "tiny_fernn.json")
CLASSIFIER = os.path.join(SOURCE, "tests", "specs", "tiny_classifier.json")


class NumpyModel(unittest.TestCase):
    def test_predict_encode_gradients_and_checkpoints(self):
        m = fernn.compile(TINY, {"recurrence.channels": 6})
        self.assertEqual(m.dtype, np.float32)
        self.assertEqual(len(m.velocities), m.copies)
        m.init(3)
        x = np.random.default_rng(0).random((2, 3, 1, 6, 7), dtype=np.float32)
        y = m.predict(x)
        self.assertEqual(y.shape, (2, 2, 1, 6, 7))
        self.assertEqual(m.predict(x, output_frames=4).shape, (2, 4, 1, 6, 7))
        np.testing.assert_array_equal(m.predict(x.astype(np.float64)), y)  # converted
        h = m.encode(x, layer=0)
        self.assertEqual(h.shape, (2, 3, m.copies, 6, 6, 7))
        m.forward(x, keep=True)
        grads = m.gradients(np.ones_like(y))
        self.assertEqual(set(grads), {t.name for t in m.tensors[fernn.PARAMETERS]})
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            m.save(path)
            other = fernn.compile(TINY, ["recurrence.channels=6"])
            other.load(path)
            np.testing.assert_array_equal(other.predict(x), y)
            state = fernn.load_checkpoint(path)
            self.assertEqual(set(state), set(m.state_dict()))
            other.init(9)
            other.load_state_dict(state)
            np.testing.assert_array_equal(other.predict(x), y)
            with self.assertRaises(fernn.InputError):
                other.load_state_dict({**state, "cell.extra": np.zeros(1)})

    def test_errors_are_python_exceptions_with_the_json_path(self):
        with self.assertRaises(fernn.InputError) as e:
            fernn.compile(TINY, {"recurrence.activation": "gelu"})
        self.assertIn("recurrence.activation", str(e.exception))
        self.assertIn("relu", str(e.exception))  # the allowed values
        with self.assertRaises(fernn.InputError) as e:
            fernn.compile({"fernn": 1, "name": "x", "input": {"channels": 0}})
        self.assertIn("input.channels", str(e.exception))
        with self.assertRaises(fernn.InputError):
            fernn.compile(TINY, precision="float16")
        with self.assertRaises(fernn.InputError):
            fernn.open(os.path.join(SOURCE, "no_such_model"))
        m = fernn.compile(TINY)
        with self.assertRaises(fernn.InputError) as e:
            m.predict(np.zeros((2, 3, 1, 5, 7), np.float32))
        self.assertIn("(2, 3, 1, 5, 7)", str(e.exception))
        with self.assertRaises(fernn.StateError):
            fernn.compile(TINY).backward(np.zeros((2, 2, 1, 6, 7), np.float32))
        self.assertTrue(issubclass(fernn.InputError, ValueError))


def tiny_batch(batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, 1, 6, 7, generator=g), torch.rand(batch, 2, 1, 6, 7, generator=g)


class TorchModule(unittest.TestCase):
    def test_trains_with_torch_optim_and_a_loss_of_its_own(self):
        torch.manual_seed(0)
        model = fernn.torch.Model(TINY, {"recurrence.channels": 6})
        opt = torch.optim.Adam(model.parameters(), 1e-2)
        x, y = tiny_batch()
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = torch.nn.functional.smooth_l1_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        self.assertLess(losses[-1], 0.5 * losses[0])

    def test_deep_copies_are_independent_modules(self):
        import copy
        model = fernn.torch.Model(TINY, {"recurrence.channels": 6}, seed=3)
        x, y = tiny_batch()
        (model(x) - y).abs().mean().backward()
        twin = copy.deepcopy(model)
        with torch.no_grad():
            self.assertTrue(torch.equal(model(x), twin(x)))
        for p, q in zip(model.parameters(), twin.parameters()):
            self.assertTrue(torch.equal(p.grad, q.grad))
        with torch.no_grad():
            next(twin.parameters()).mul_(0.5)
            self.assertFalse(torch.equal(model(x), twin(x)))

    def test_same_seed_same_module_and_torch_manual_seed_decides(self):
        a = fernn.torch.Model(TINY, seed=4)
        b = fernn.torch.Model(TINY, seed=4)
        for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
            self.assertTrue(torch.equal(p, q), n)
        torch.manual_seed(1)
        c = fernn.torch.Model(TINY)
        torch.manual_seed(1)
        d = fernn.torch.Model(TINY)
        self.assertTrue(torch.equal(next(c.parameters()), next(d.parameters())))

    def test_several_graphs_no_grad_and_modified_parameters(self):
        model = fernn.torch.Model(TINY, seed=2)
        x1, y1 = tiny_batch(seed=1)
        x2, y2 = tiny_batch(seed=2)
        # Two graphs alive at once: the sum's gradient is the sum of each one's.
        (model(x1) - y1).abs().mean().backward()
        g1 = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        (model(x2) - y2).pow(2).mean().backward()
        g2 = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        a, b = model(x1), model(x2)
        ((a - y1).abs().mean() + (b - y2).pow(2).mean()).backward()
        for p, u, v in zip(model.parameters(), g1, g2):
            torch.testing.assert_close(p.grad, u + v, rtol=1e-5, atol=1e-7)
        with torch.no_grad():
            out = model(x1)
        self.assertFalse(out.requires_grad)
        # Parameters replaced outright (not views of the flat buffer any more) still count.
        with torch.no_grad():
            before = model(x1)
            w = model.decoder_conv._modules["2"].weight
            model.decoder_conv._modules["2"].weight = torch.nn.Parameter(w.detach() * 0.5)
            after = model(x1)
        self.assertFalse(torch.equal(before, after))
        # A compiled model keeps its precision: .double() is refused with the reason.
        with self.assertRaises(fernn.InputError) as e:
            fernn.torch.Model(TINY, seed=1).double()(x1.double())
        self.assertIn("float64", str(e.exception))
        # The input gets no gradient: refused, not silently dropped.
        with self.assertRaises(fernn.InputError):
            model(x1.clone().requires_grad_())
        # PyTorch's own check: parameters changed in place between forward and backward.
        out = model(x1)
        with torch.no_grad():
            next(model.parameters()).mul_(2)
        with self.assertRaises(RuntimeError):
            out.sum().backward()

    def test_batchnorm_modes_and_state_dict(self):
        torch.manual_seed(0)
        model = fernn.torch.Model(CLASSIFIER)
        x = torch.rand(4, 4, 1, 7, 6)
        labels = torch.tensor([0, 1, 2, 1])
        mean = model.lstm.conv_u_first._modules["1"].running_mean
        before = mean.clone()
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        self.assertFalse(torch.equal(mean, before))  # training mode moved it
        self.assertEqual(int(model.lstm.conv_u_first._modules["1"].num_batches_tracked), 4)
        model.eval()
        with torch.no_grad():
            a = model(x)
            b = model(x)
        self.assertTrue(torch.equal(a, b))
        # Evaluation-mode BatchNorm has no compiled backward: a clear error at backward.
        with self.assertRaises(fernn.StateError):
            model(x).sum().backward()
        state = model.state_dict()
        other = fernn.torch.Model(CLASSIFIER)
        other.load_state_dict(state, strict=True)
        other.eval()
        with torch.no_grad():
            self.assertTrue(torch.equal(other(x), a))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.safetensors")
            fernn.torch.save_checkpoint(path, state)
            loaded = fernn.torch.load_checkpoint(path)
            self.assertEqual(loaded["lstm.conv_u_first.1.num_batches_tracked"].dtype, torch.int64)
            third = fernn.compile(CLASSIFIER)
            third.load(path)  # the C++ reader takes what the Python writer wrote
            np.testing.assert_array_equal(third.predict(x.numpy()), a.numpy())
        bad = dict(state)
        bad["lstm.shift_kernels"] = bad["lstm.shift_kernels"].flip(0)
        with self.assertRaises(RuntimeError) as e:
            other.load_state_dict(bad)
        self.assertIn("lstm.shift_kernels", str(e.exception))


def valid_file(path):
    fernn.save_checkpoint(path, {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                                 "b": np.array(7, dtype=np.int64),
                                 "c": np.zeros((0, 4), np.float64)},
                          metadata={"k": "v"})


class Safetensors(unittest.TestCase):
    def test_round_trip_and_torch_state_dicts(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.safetensors")
            valid_file(path)
            tensors, meta = fernn._safetensors.load(path)
            self.assertEqual(meta, {"k": "v"})
            np.testing.assert_array_equal(tensors["a"], np.arange(6).reshape(2, 3))
            self.assertEqual(tensors["b"].dtype, np.int64)
            self.assertEqual(tensors["c"].shape, (0, 4))
            with open(path, "rb") as f:
                raw = f.read()
            (n,) = struct.unpack("<Q", raw[:8])
            self.assertEqual((8 + n) % 8, 0)

    def test_hostile_files_raise_input_error(self):
        cases = {
            "empty": b"",
            "short": b"\x01\x02",
            "huge header": struct.pack("<Q", 2 ** 63) + b"{}",
            "header past end": struct.pack("<Q", 100) + b"{}",
            "not json": struct.pack("<Q", 3) + b"{{{",
            "not an object": struct.pack("<Q", 2) + b"[]",
            "deep nesting": struct.pack("<Q", 200000) + b"[" * 200000,
            "bad dtype": self.header({"x": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, 4),
            "negative shape": self.header({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4),
            "size mismatch": self.header({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, 4),
            "outside data": self.header({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, 4),
            "overlap": self.header({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                    "y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, 8),
            "gap": self.header({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, 8),
            "extra key": self.header({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4],
                                            "z": 1}}, 4),
            "bool shape": self.header({"x": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, 4),
            "metadata not strings": self.header({"__metadata__": {"a": 1}}, 0),
            "giant shape": self.header({"x": {"dtype": "F64", "shape": [2 ** 40, 2 ** 40],
                                              "data_offsets": [0, 8]}}, 8),
        }
        with tempfile.TemporaryDirectory() as d:
            for name, data in cases.items():
                path = os.path.join(d, "h.safetensors")
                with open(path, "wb") as f:
                    f.write(data)
                with self.assertRaises(fernn.InputError, msg=name) as e:
                    fernn.load_checkpoint(path)
                self.assertIn(path, str(e.exception))

    def test_every_mutation_loads_or_raises_input_error(self):
        rng = random.Random(0)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.safetensors")
            valid_file(path)
            with open(path, "rb") as f:
                original = f.read()
            mutated = os.path.join(d, "m.safetensors")
            outcomes = {"loaded": 0, "refused": 0}
            for _ in range(3000):
                data = bytearray(original)
                for _ in range(rng.randint(1, 4)):
                    kind = rng.random()
                    i = rng.randrange(len(data))
                    if kind < 0.5:
                        data[i] = rng.randrange(256)
                    elif kind < 0.75:
                        del data[i:i + rng.randint(1, 8)]
                    else:
                        data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
                with open(mutated, "wb") as f:
                    f.write(data)
                try:
                    fernn.load_checkpoint(mutated)
                    outcomes["loaded"] += 1
                except fernn.InputError:
                    outcomes["refused"] += 1
            print(f"3000 mutations: {outcomes}", file=sys.stderr)
            self.assertGreater(outcomes["refused"], 0)

    def test_a_failed_save_keeps_the_old_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.safetensors")
            valid_file(path)
            with open(path, "rb") as f:
                before = f.read()
            with self.assertRaises(fernn.InputError):
                fernn.save_checkpoint(path, {"ok": np.zeros(3), "bad": np.array(["text"])})
            with open(path, "rb") as f:
                self.assertEqual(f.read(), before)
            self.assertEqual(os.listdir(d), ["t.safetensors"])

    @staticmethod
    def header(h, data_bytes):
        import json
        text = json.dumps(h).encode()
        return struct.pack("<Q", len(text)) + text + b"\0" * data_bytes


if __name__ == "__main__":
    torch.set_num_threads(2)
    unittest.main()
