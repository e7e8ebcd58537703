namespace X; internal class P { }
