"""Music helpers shared by the music codecs: rendering to audio and images."""
