import keras
import numpy as np
import tensorflow as tf

from reference import self_attention_layer
from sagan_tf.grid import to_uint8
from sagan_tf.callbacks import AttentionMaps
from sagan_tf.callbacks.attention_maps import QUERY_COLORS, AttentionProbe, render
from sagan_tf.callbacks.scalar_summaries import attention_layers
from sagan_tf.summaries import read_descriptions, read_events


def _inputs(network, model):
    labels = tf.constant([1, 7])
    if network is model.generator:
        return [tf.random.stateless_normal([2, 128], seed=[0, 1]), labels]
    return [tf.random.stateless_uniform([2, 32, 32, 3], seed=[0, 2], minval=-1), labels]


def test_probe_gives_the_papers_attention_of_the_layers_actual_input(tiny):
    model = tiny.model()
    for network in (model.generator, model.discriminator):
        layer, = attention_layers(network)
        layer.gamma.assign(0.5)
        probe = AttentionProbe(network, layer)
        inputs = _inputs(network, model)
        for _ in range(15):  # converge the SN power iterations, as in a trained network
            network(inputs, training=True)
        features, beta = probe(inputs)
        y_ref, beta_ref = self_attention_layer(layer, features)
        assert beta.shape == (2, 16 * 16, 8 * 8)  # pooled keys
        np.testing.assert_allclose(beta, beta_ref, rtol=1e-4, atol=1e-5)
        # The features are what the layer sees inside the network: its output matches.
        output = keras.Model(network.inputs, layer.output)(inputs, training=False)
        np.testing.assert_allclose(output, y_ref, rtol=1e-4, atol=1e-5 * np.abs(y_ref).max())
        # The probe follows the layer's weights as training changes them.
        layer.f_conv.kernel.assign(-layer.f_conv.kernel)  # (scaling would cancel in W / sigma)
        _, beta_after = probe(inputs)
        np.testing.assert_allclose(beta_after, self_attention_layer(layer, features)[1],
                                   rtol=1e-4, atol=1e-5)
        assert np.abs(beta_after - beta).max() > 1e-3  # beta ~ 1/64 here


def test_render_marks_the_queries_and_heats_the_attended_keys():
    images = np.zeros([1, 8, 8, 3], np.float32)  # grey 128 after to_uint8
    beta = np.zeros([1, 16, 4], np.float32)  # 4x4 features, 2x2 pooled keys
    cells = [(1, 1), (3, 2)]
    beta[0, 1 * 4 + 1, 0 * 2 + 1] = 1.0  # query (1, 1) attends to key (0, 1)
    beta[0, 3 * 4 + 2, 1 * 2 + 0] = 1.0  # query (3, 2) attends to key (1, 0)
    panel = render(images, beta, (4, 4), pooled=True, cells=cells)
    tiles = [panel[2:10, 2 + i * 10:10 + i * 10] for i in range(3)]
    assert panel.shape == (12, 32, 3)
    np.testing.assert_array_equal(tiles[0][2:4, 2:4], np.broadcast_to(QUERY_COLORS[0], (2, 2, 3)))
    np.testing.assert_array_equal(tiles[0][6:8, 4:6], np.broadcast_to(QUERY_COLORS[1], (2, 2, 3)))
    grey = to_uint8(np.zeros(1))[0]
    hot, cold = round(0.4 * grey + 0.6 * 255), round(0.4 * grey)
    for tile, (ky, kx), (qy, qx), color in ((tiles[1], (0, 1), (1, 1), QUERY_COLORS[0]),
                                            (tiles[2], (1, 0), (3, 2), QUERY_COLORS[1])):
        expected = np.full((8, 8, 3), cold)
        expected[ky * 4:(ky + 1) * 4, kx * 4:(kx + 1) * 4] = hot  # a key covers 4x4 pixels
        expected[qy * 2:(qy + 1) * 2, qx * 2:(qx + 1) * 2] = color  # a feature cell 2x2
        np.testing.assert_array_equal(tile, expected)


def test_callback_writes_a_panel_for_each_attention_layer_of_g_and_d(tiny, tmp_path):
    model = tiny.model(tiny.config("x", ema_decay=0.9))
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    callback = AttentionMaps(writer, every=2, num_classes=10, samples_dir=str(tmp_path))
    model.fit(tiny.digits(), steps_per_epoch=2, verbose=0, callbacks=[callback])
    events = read_events(str(tmp_path / "logs"))
    panels = callback.panels()  # the same weights as at step 2
    assert sorted(events) == ["attention/discriminator/attention16",
                              "attention/ema_generator/attention16",
                              "gamma/ema_generator/attention16"]  # the weights shown
    ema_gamma = float(model.ema_generator.get_layer("attention16").gamma.numpy())
    assert events["gamma/ema_generator/attention16"] == [(2, ema_gamma)]
    assert ema_gamma != float(model.generator.get_layer("attention16").gamma.numpy())
    described = read_descriptions(str(tmp_path / "logs"))
    g, d = (described[f"attention/{n}/attention16"] for n in ("ema_generator",
                                                              "discriminator"))
    assert g.startswith("The EMA generator's self-attention `attention16`, at its 16x16")
    assert d.startswith("The discriminator's self-attention `attention16`, on the generated")
    for text in (g, d):
        assert "**Rows**: 4 generated images" in text and "over the 8x8 key positions" in text
        assert "cyan at (y, x) = 0.5, 0.5" in text and "blue at (y, x) = 0.5, 0.25" in text
    for (network, layer), panel in panels.items():
        (step, images), = events[f"attention/{network}/{layer}"]
        assert step == 2
        np.testing.assert_array_equal(images[0], panel)
        # 4 images x (image + 4 queries), 32-pixel tiles shown 3x (96 pixels).
        assert panel.shape == (4 * 98 + 2, 5 * 98 + 2, 3)
        assert (tmp_path / f"attention_{network}_{layer}.png").exists()
