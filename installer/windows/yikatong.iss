; Inno Setup script: packages dist\yikatong (the PyInstaller folder) for village laptops.
[Setup]
AppName=一卡通 登记
AppVersion=0.1.0
DefaultDirName={autopf}\Yikatong
DefaultGroupName=一卡通
OutputBaseFilename=yikatong-setup
Compression=lzma2
SolidCompression=yes

[Languages]
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Files]
Source: "..\..\dist\yikatong\*"; DestDir: "{app}"; Flags: recursesubdirs

[Icons]
Name: "{group}\一卡通 登记"; Filename: "{app}\yikatong.exe"; Parameters: "app"
