"""Reuse the MNIST network on other handwriting: another digit set in MNIST's format (digits),
fine-tuning strategies and the few-shot study (finetune), a user's own labelled folder (teach).
"""
