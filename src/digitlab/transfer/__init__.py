"""Reuse the MNIST network on other handwriting: another digit set in MNIST's format (digits),
fine-tuning strategies and the few-shot study (finetune, study), and the `finetune` command on a
user's own labelled folder (finetune_command).
"""
