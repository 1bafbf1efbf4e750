"""Blocks shared by several architectures.

``conv``: convolution blocks, residual modules, pooling/dense heads (sequence-level CNNs/RNNs).
``profile``: pre-activation conv blocks, dilated residual blocks, attention pooling, the
transformer with Enformer's relative positional encodings, cropping and the scalar head of
profile models.
"""
