"""The bottom layer: imports nothing of the package but ``errors``.

files (atomic writes, JSON, the cache folder), tensors (checksummed safetensors), device
(device and precision policy), logits (logit processors), memory (allocator settings made
on import), progress (the progress bar).
"""
