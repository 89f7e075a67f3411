"""The counter's day: quota slots, queue numbers, walk-ins, verification, fees and pickup."""
