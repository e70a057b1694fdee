"""The test certificate factory, re-exported from :mod:`fixtures.certs` for the TLS tests."""

from shophealth.demo.certs import Authority, Leaf, PrivateKey, make_intermediate, make_leaf, make_root

__all__ = ["Authority", "Leaf", "PrivateKey", "make_intermediate", "make_leaf", "make_root"]
