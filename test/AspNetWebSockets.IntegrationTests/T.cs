public class T2 { [Xunit.Fact] public void A() {} }
